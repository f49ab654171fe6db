/**
 * The local stand-ins for the deployment's symmetric KMS keys: 32 random bytes, base64, in a file.
 * - `sealingKeyFile`: seals cached tokens (KMS data keys in a deployment);
 * - `rotationStateKeyFile`: authenticates the key rotation state (the HMAC_256 key in a deployment).
 * Processes that share a DynamoDB table must share both, or each rejects the others' items.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createFileOnce } from './key-file';
import { LOCAL_STATE_DIR } from './local-state-dir';

/** The generated sealing key, beside the signing key. */
export const DEFAULT_SEALING_KEY_FILE = resolve(LOCAL_STATE_DIR, 'sealing-key');
/** The generated rotation state key. */
export const DEFAULT_ROTATION_STATE_KEY_FILE = resolve(LOCAL_STATE_DIR, 'rotation-state-key');

const KEY_BYTES = 32;

export interface SecretKey {
  readonly key: Uint8Array;
  readonly path: string;
  readonly created: boolean;
  /** Readable by others than its owner: a warning for the caller. */
  readonly tooOpen: boolean;
}

/**
 * Reads the key at `path`, or, when no path is configured, at `defaultFile`, generating it there once (atomically,
 * mode 0600) so that processes starting together end up with the same key.
 * @param field the configuration field, named in errors
 * @throws Error naming the field and the file when it is missing (a configured one), unreadable, or not the base64 of
 *   32 bytes; never quoting its content
 */
export async function loadOrCreateSecretKey(field: string, path: string | undefined, defaultFile: string): Promise<SecretKey> {
  const file = path ?? defaultFile;
  const created = path === undefined ? await createFileOnce(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`) : false;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${field} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== KEY_BYTES) {
    throw new Error(
      `${field} ${file}: expected the base64 of ${KEY_BYTES} random bytes (e.g. from "openssl rand -base64 32"), received ${trimmed.length} characters that are not`,
    );
  }
  const mode = (await stat(file)).mode;
  return { key: new Uint8Array(key), path: file, created, tooOpen: (mode & 0o077) !== 0 };
}

/** The sealing key (`sealingKeyFile`). */
export function loadOrCreateSealingKey(path: string | undefined, defaultFile = DEFAULT_SEALING_KEY_FILE): Promise<SecretKey> {
  return loadOrCreateSecretKey('sealingKeyFile', path, defaultFile);
}

/** The rotation state key (`rotationStateKeyFile`). */
export function loadOrCreateRotationStateKey(path: string | undefined, defaultFile = DEFAULT_ROTATION_STATE_KEY_FILE): Promise<SecretKey> {
  return loadOrCreateSecretKey('rotationStateKeyFile', path, defaultFile);
}
