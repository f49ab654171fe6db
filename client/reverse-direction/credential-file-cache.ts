/**
 * The credential cache of `entra-aws-credentials`: one file per role, audience, explicit session name and duration,
 * and what selects the identity and the STS (./session-selectors.ts), in the user's cache folder, so that repeated `credential_process` calls (the AWS CLI runs the
 * process on every command) make no Entra or STS call while the credentials have more than the refresh margin
 * left.
 *
 * The files hold secret keys and session tokens, so: the folder is created 0700 (tightened to 0700 if it is ours
 * and looser), a folder or file owned by another user, or a symbolic link, is refused; files are written 0600
 * through a temporary file and a rename (readers never see half a file); a file readable by others is ignored
 * and replaced.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { WorkloadIdentityError } from './workload-identity-error';

/** `credential_process` output (AWS CLI/SDK "Sourcing credentials with an external process"). */
export interface CredentialProcessOutput {
  readonly Version: 1;
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly SessionToken: string;
  /** ISO 8601. */
  readonly Expiration: string;
}

export interface CacheKey {
  readonly roleArn: string;
  readonly audience: string;
  readonly sessionName?: string;
  readonly durationSeconds?: number;
  /** Which Entra identity and which STS the run would use (`sessionSelectors`): another identity is another entry. */
  readonly selectors: Readonly<Record<string, string>>;
}

/** `$XDG_CACHE_HOME/entra-aws-credentials` (an absolute XDG_CACHE_HOME only, per the XDG spec), else `~/.cache/…`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'entra-aws-credentials');
}

export function cacheFileName(key: CacheKey): string {
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        key.roleArn,
        key.audience,
        key.sessionName ?? '',
        key.durationSeconds ?? '',
        Object.entries(key.selectors).sort(([a], [b]) => a.localeCompare(b)),
      ]),
    )
    .digest('hex');
  return `${digest.slice(0, 40)}.json`;
}

function isCredentialProcessOutput(value: unknown): value is CredentialProcessOutput {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.Version === 1 &&
    typeof v.AccessKeyId === 'string' &&
    typeof v.SecretAccessKey === 'string' &&
    typeof v.SessionToken === 'string' &&
    typeof v.Expiration === 'string' &&
    !Number.isNaN(Date.parse(v.Expiration))
  );
}

const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;

export class CredentialFileCache {
  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Credentials for `key` with more than `marginSeconds` left, or undefined.
   * @throws WorkloadIdentityError `cache_unusable` when the folder is not safe to use
   */
  async read(key: CacheKey, marginSeconds: number): Promise<CredentialProcessOutput | undefined> {
    if (!(await this.checkDir(false))) return undefined;
    const file = join(this.dir, cacheFileName(key));
    let text: string;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      const stat = await handle.stat();
      // Not ours, not a plain file, or readable by others: never trusted (it is overwritten on the next write).
      if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) return undefined;
      text = await handle.readFile('utf8');
    } catch {
      return undefined;
    } finally {
      await handle?.close();
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isCredentialProcessOutput(value)) return undefined;
    return Date.parse(value.Expiration) - this.now() > marginSeconds * 1000 ? value : undefined;
  }

  /**
   * Stores credentials for `key` (0600, atomically).
   * @throws WorkloadIdentityError `cache_unusable` when the folder is not safe or not writable
   */
  async write(key: CacheKey, credentials: CredentialProcessOutput): Promise<void> {
    await this.checkDir(true);
    const file = join(this.dir, cacheFileName(key));
    const temporary = join(this.dir, `.${cacheFileName(key)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(credentials)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temporary, file);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw new WorkloadIdentityError(
        'cache_unusable',
        `Cannot write the credential cache in ${this.dir}: ${(error as Error).message}. Fix the folder, or pass --no-cache.`,
        { cause: error },
      );
    }
  }

  /**
   * Ensures the folder is ours and private (creating it when `create`).
   * @returns false when it does not exist and `create` is false
   * @throws WorkloadIdentityError `cache_unusable` for a symbolic link, a non-folder or another owner
   */
  private async checkDir(create: boolean): Promise<boolean> {
    if (create) {
      try {
        await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new WorkloadIdentityError(
          'cache_unusable',
          `Cannot create the credential cache folder ${this.dir}: ${(error as Error).message}. Pass --no-cache to skip the cache.`,
          {
            cause: error,
          },
        );
      }
    }
    let stat;
    try {
      stat = await fs.lstat(this.dir);
    } catch {
      return false;
    }
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
      throw new WorkloadIdentityError(
        'cache_unusable',
        `The credential cache folder ${this.dir} is ${stat.isSymbolicLink() ? 'a symbolic link' : !stat.isDirectory() ? 'not a folder' : 'owned by another user'}; it would hold AWS secret keys, so it is not used. Remove it, set XDG_CACHE_HOME to a private folder, or pass --no-cache.`,
      );
    }
    if ((stat.mode & 0o077) !== 0) await fs.chmod(this.dir, 0o700);
    return true;
  }
}
