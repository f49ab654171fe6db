/**
 * DynamoDB Local for tests, CI and the local runtime.
 *
 * The official DynamoDB Local jar (1.25.1) ships inside the npm package `amplify-dynamodb-simulator`
 * (folder `emulator/`). That package's own dependencies are huge, so it is not a project dependency:
 * `ensureDynamoDbLocal()` fetches the pinned tarball with `npm pack` (through the user's npm registry
 * settings), checks its sha512 against a pinned integrity and unpacks only the emulator into
 * `.cache/dynamodb-local/<version>/` (git-ignored).
 *
 * CLI:
 *   npx tsx local/dynamodb-local.ts fetch                       ensure the jar is cached (CI does this first)
 *   npx tsx local/dynamodb-local.ts start [--port N] [--db-path DIR]   run it in the foreground
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** npm package (pinned) whose `emulator/` folder is the DynamoDB Local distribution. */
export const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator';
export const DYNAMODB_LOCAL_PACKAGE_VERSION = '2.9.30';
/** Subresource-integrity of the pinned tarball: anything else is refused. */
export const DYNAMODB_LOCAL_PACKAGE_INTEGRITY =
  'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

const JAR = 'DynamoDBLocal.jar';
const JAVA_MISSING = 'DynamoDB Local needs Java 17+: install it (e.g. apt-get install -y default-jre-headless)';
// Only bounds a JVM that runs but never answers (a crash is noticed at once): generous, because a
// loaded CI machine can take well over 10 s to start it.
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const BIND_FAILURE = /BindException|Failed to bind/;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  if (existsSync(path.join(dir, JAR))) return Promise.resolve(dir);
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
    if (!existsSync(path.join(staging, JAR))) throw new Error(`${spec} did not contain emulator/${JAR}`);
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
    if (existsSync(path.join(dir, JAR))) return; // another process won the race with the same content
    // A leftover directory without the jar (e.g. someone deleted files by hand): replace it once.
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch {
      if (!existsSync(path.join(dir, JAR))) throw error;
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

/** A free TCP port on 127.0.0.1 (bound and released; a tiny race with other processes remains). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

export interface DynamoDbLocalOptions {
  /**
   * TCP port; 0 or absent = a free port, chosen once and kept across restarts. Note that DynamoDB Local
   * 1.25 has no host option and listens on all interfaces (0.0.0.0), accepting any credentials.
   */
  readonly port?: number;
  /** Directory for the database file (kept across restarts); absent = in memory. Created if missing. */
  readonly dbPath?: string;
  /** Directory holding DynamoDBLocal.jar; absent = {@link ensureDynamoDbLocal}() (downloads if needed). */
  readonly jarDir?: string;
  /** Java executable; default `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH. */
  readonly java?: string;
  /** How long to wait for the first answer; default 60 s. */
  readonly startTimeoutMs?: number;
  /** Called when the process exits without stop() having been called (e.g. it crashed or was killed). */
  readonly onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A running (or stopped, restartable) DynamoDB Local, reached through 127.0.0.1. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. No-op when stopped. */
  stop(): Promise<void>;
  /** Starts again on the same port and dbPath (for fault tests); no-op when running. Throws like startDynamoDbLocal. */
  start(): Promise<void>;
}

/**
 * Starts DynamoDB Local (`-sharedDb`, telemetry off) and waits until it answers ListTables.
 * @throws Error when Java is missing, the jar directory has no DynamoDBLocal.jar, or it does not answer
 *   within the start timeout (the message carries its last output lines)
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const jarDir = path.resolve(options.jarDir ?? (await ensureDynamoDbLocal()));
  if (!existsSync(path.join(jarDir, JAR))) {
    throw new Error(
      `DynamoDB Local jar not found: ${path.join(jarDir, JAR)} does not exist. ` +
        `Run "npx tsx local/dynamodb-local.ts fetch" to download it.`,
    );
  }
  const dbPath = options.dbPath === undefined ? undefined : path.resolve(options.dbPath);
  if (dbPath) await mkdir(dbPath, { recursive: true });
  const java = options.java ?? (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
  const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const pickPort = !options.port;
  let port = options.port || (await freePort());

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;

  const launch = async (): Promise<void> => {
    // C1-only JIT and the serial GC: a test database needs fast start-up far more than peak throughput
    // (measured on a loaded 2-CPU machine: about 6 s instead of 10-20 s).
    const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
    const args = [...jvm, `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`, '-jar', path.join(jarDir, JAR)];
    args.push('-port', String(port), ...(dbPath ? ['-dbPath', dbPath] : ['-inMemory']), '-sharedDb', '-disableTelemetry');
    const proc = spawn(java, args, { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = tail(40);
    // Jetty logs a bind failure but the JVM keeps running (non-daemon threads): notice it in the output.
    let onBindFailure: () => void = () => undefined;
    const bindFailed = new Promise<'bind failed'>((resolve) => (onBindFailure = () => resolve('bind failed')));
    const onOutput = (chunk: Buffer): void => {
      output.push(chunk);
      if (BIND_FAILURE.test(output.text())) onBindFailure();
    };
    proc.stdout.on('data', onOutput);
    proc.stderr.on('data', onOutput);
    // Never keep the parent alive just for this child: the exit handler below kills it.
    proc.unref();
    (proc.stdout as { unref?: () => void } | null)?.unref?.();
    (proc.stderr as { unref?: () => void } | null)?.unref?.();
    track(proc);
    child = proc;
    stopping = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    exited = new Promise<void>((resolve) => {
      proc.on('error', (error: NodeJS.ErrnoException) => {
        spawnError = error;
        if (proc.pid === undefined) {
          // Never started (e.g. no java): 'exit' may not follow.
          if (child === proc) child = undefined;
          resolve();
        }
      });
      proc.on('exit', (code, signal) => {
        if (child === proc) child = undefined;
        if (!stopping) options.onUnexpectedExit?.(code, signal);
        resolve();
      });
    });
    const gone = exited.then(() => 'exited' as const);

    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true }),
    });
    const deadline = Date.now() + timeoutMs;
    const withOutput = (message: string): string => {
      const lines = output.text();
      return lines ? `${message}:\n${lines}` : message;
    };
    try {
      for (;;) {
        const state = await Promise.race([
          client.send(new ListTablesCommand({ Limit: 1 })).then(
            () => 'ready' as const,
            () => 'not yet' as const,
          ),
          gone,
          bindFailed,
        ]);
        if (state === 'ready') return;
        if (state === 'bind failed') {
          await stopChild();
          throw Object.assign(new Error(withOutput(`DynamoDB Local could not listen on port ${port}: the port is in use`)), {
            portInUse: true,
          });
        }
        if (state === 'exited') {
          if (spawnError?.code === 'ENOENT') throw new Error(`${JAVA_MISSING} (tried "${java}")`, { cause: spawnError });
          const hint = /UnsupportedClassVersionError/.test(output.text()) ? ` (${JAVA_MISSING})` : '';
          throw Object.assign(new Error(withOutput(`DynamoDB Local exited before answering on port ${port}${hint}`)), {
            portInUse: BIND_FAILURE.test(output.text()),
          });
        }
        if (Date.now() >= deadline) {
          await stopChild();
          throw new Error(withOutput(`DynamoDB Local did not answer on port ${port} within ${timeoutMs} ms`));
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      client.destroy();
    }
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (!proc) return exited;
    stopping = true;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  // A port picked by us can be taken by someone else before Java binds it: pick another one, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      if (!pickPort || attempt >= 3 || !(error as { portInUse?: boolean }).portInUse) throw error;
      port = await freePort();
    }
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: stopChild,
    start: async () => {
      if (child) return;
      await launch();
    },
  };
}

/** The last `max` lines written by the child, for error messages. */
function tail(max: number): { push: (chunk: Buffer) => void; text: () => string } {
  const lines: string[] = [];
  let partial = '';
  return {
    push: (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.trim() !== ''));
      if (lines.length > max) lines.splice(0, lines.length - max);
    },
    text: () => [...lines, partial].filter((line) => line.trim() !== '').join('\n'),
  };
}

// Children still running when this process ends are killed, so no JVM outlives a test run or a crash.
const live = new Set<ChildProcess>();
let handlersInstalled = false;

function track(proc: ChildProcess): void {
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  proc.on('error', () => {
    if (proc.pid === undefined) live.delete(proc);
  });
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // With other listeners the application owns shutdown (and 'exit' still kills the children);
      // alone, restore the default behaviour: kill the children, then die of the same signal.
      if (process.listenerCount(signal) > 1) return;
      for (const p of live) p.kill('SIGKILL');
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

async function cli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const index = rest.indexOf(name);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  if (command === 'fetch') {
    const dir = await ensureDynamoDbLocal();
    process.stdout.write(`DynamoDB Local is in ${dir}\n`);
    return 0;
  }
  if (command === 'start') {
    const portText = flag('--port');
    const port = portText === undefined ? 0 : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`--port must be an integer 0-65535, got "${portText}"\n`);
      return 2;
    }
    const dbPath = flag('--db-path');
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let resolveDone: (code: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => (resolveDone = resolve));
    const ddb = await startDynamoDbLocal({
      port,
      ...(dbPath ? { dbPath } : {}),
      onUnexpectedExit: (code, signal) => {
        process.stderr.write(`DynamoDB Local exited unexpectedly (${signal ?? `code ${code}`})\n`);
        resolveDone(1);
      },
    });
    process.stdout.write(`DynamoDB Local listening on ${ddb.endpoint} (${dbPath ? `data in ${dbPath}` : 'in memory'}); Ctrl-C stops it\n`);
    const shutdown = (): void => void ddb.stop().then(() => resolveDone(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    const code = await done;
    clearInterval(keepAlive);
    return code;
  }
  process.stderr.write('usage: tsx local/dynamodb-local.ts fetch | start [--port N] [--db-path DIR]\n');
  return 2;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
