/**
 * The DynamoDB Local distribution: fetched once, verified, cached.
 *
 * The official DynamoDB Local jar (1.25.1) ships inside the npm package `amplify-dynamodb-simulator`
 * (folder `emulator/`). That package's own dependencies are huge, so it is not a project dependency:
 * `ensureDynamoDbLocal()` fetches the pinned tarball with `npm pack` (through the user's npm registry
 * settings), checks its sha512 against a pinned integrity and unpacks only the emulator into
 * `.cache/dynamodb-local/<version>/` (git-ignored).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** npm package (pinned) whose `emulator/` folder is the DynamoDB Local distribution. */
export const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator';
export const DYNAMODB_LOCAL_PACKAGE_VERSION = '2.9.30';
/** Subresource-integrity of the pinned tarball: anything else is refused. */
export const DYNAMODB_LOCAL_PACKAGE_INTEGRITY =
  'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

/** The jar inside the cached directory. */
export const DYNAMODB_LOCAL_JAR = 'DynamoDBLocal.jar';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the jar is cached by default: `<repo>/.cache/dynamodb-local/<package version>`. */
export const defaultDynamoDbLocalDir = path.join(repoRoot, '.cache', 'dynamodb-local', DYNAMODB_LOCAL_PACKAGE_VERSION);

export interface EnsureDynamoDbLocalOptions {
  /** Cache directory that will hold DynamoDBLocal.jar; default {@link defaultDynamoDbLocalDir}. */
  readonly dir?: string;
  /** Progress messages (only printed when a download happens); default stderr. */
  readonly log?: (message: string) => void;
}

// One download per directory per process; other processes are handled by the atomic rename.
const ensuring = new Map<string, Promise<string>>();

/**
 * Makes sure the DynamoDB Local jar is cached, downloading and verifying it when missing.
 * Safe to call concurrently, also from several processes (the directory appears atomically).
 * @returns the directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/
 * @throws Error when npm pack or tar fail, or when the tarball's integrity does not match the pinned one
 */
export function ensureDynamoDbLocal(options: EnsureDynamoDbLocalOptions = {}): Promise<string> {
  const dir = path.resolve(options.dir ?? defaultDynamoDbLocalDir);
  if (existsSync(path.join(dir, DYNAMODB_LOCAL_JAR))) return Promise.resolve(dir);
  let pending = ensuring.get(dir);
  if (!pending) {
    pending = download(dir, options.log ?? ((message) => process.stderr.write(`${message}\n`))).finally(() => ensuring.delete(dir));
    ensuring.set(dir, pending);
  }
  return pending;
}

async function download(dir: string, log: (message: string) => void): Promise<string> {
  const spec = `${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_PACKAGE_VERSION}`;
  log(`Fetching DynamoDB Local (${spec}, about 57 MB) into ${dir}`);
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true });
  const packDir = await mkdtemp(path.join(tmpdir(), 'dynamodb-local-pack-'));
  // Staged next to the target so the final rename stays on one file system (rename is atomic there).
  const staging = await mkdtemp(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    await run('npm', ['pack', spec, '--pack-destination', packDir, '--silent'], `npm pack ${spec}`);
    const tarball = (await readdir(packDir)).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} produced no tarball in ${packDir}`);
    const tarballPath = path.join(packDir, tarball);
    const integrity = `sha512-${await sha512Base64(tarballPath)}`;
    if (integrity !== DYNAMODB_LOCAL_PACKAGE_INTEGRITY) {
      throw new Error(
        `Refusing DynamoDB Local: ${spec} from your npm registry has integrity ${integrity}, ` +
          `expected ${DYNAMODB_LOCAL_PACKAGE_INTEGRITY}. Check your npm registry/mirror configuration.`,
      );
    }
    await run('tar', ['-xzf', tarballPath, '-C', staging, '--strip-components=2', 'package/emulator'], 'tar');
    if (!existsSync(path.join(staging, DYNAMODB_LOCAL_JAR))) throw new Error(`${spec} did not contain emulator/${DYNAMODB_LOCAL_JAR}`);
    await chmod(staging, 0o755); // mkdtemp made it private; the cache is ordinary project state
    await publish(staging, dir);
    return dir;
  } finally {
    await rm(packDir, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

/** Moves the staged directory into place; losing a race to another process is fine. */
async function publish(staging: string, dir: string): Promise<void> {
  try {
    await rename(staging, dir);
  } catch (error) {
    if (existsSync(path.join(dir, DYNAMODB_LOCAL_JAR))) return; // another process won the race with the same content
    // A leftover directory without the jar (e.g. someone deleted files by hand): replace it once.
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch {
      if (!existsSync(path.join(dir, DYNAMODB_LOCAL_JAR))) throw error;
    }
  }
}

function sha512Base64(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha512');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('base64')));
  });
}

function run(command: string, args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 }, (error, _stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const detail = stderr.trim().split('\n').slice(-10).join('\n');
      reject(new Error(`${what} failed (${error.code ?? error.signal ?? 'error'})${detail ? `:\n${detail}` : ''}`, { cause: error }));
    });
  });
}
