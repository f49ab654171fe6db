import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createFileOnce } from './key-file';
import { LOCAL_STATE_DIR } from './local-state-dir';

/** The generated signing key. */
export const DEFAULT_SIGNING_KEY_FILE = resolve(LOCAL_STATE_DIR, 'signing-key.pem');

/**
 * Reads the PKCS#8 PEM signing key at `path`, or, when no path is configured, at `defaultFile`, generating a 2048-bit RSA key
 * there once (mode 0600). Creation is atomic (./key-file.ts), so processes starting together end up with
 * the same key.
 * @returns the PEM and whether the file is readable by others than its owner (a warning for the caller)
 * @throws Error naming the file when a configured key file is missing or unreadable
 */
export async function loadOrCreateSigningKey(
  path: string | undefined,
  defaultFile = DEFAULT_SIGNING_KEY_FILE,
): Promise<{ pem: string; path: string; created: boolean; tooOpen: boolean }> {
  const file = path ?? defaultFile;
  let created = false;
  if (path === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    created = await createFileOnce(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`signingKeyFile ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  const mode = (await stat(file)).mode;
  return { pem, path: file, created, tooOpen: (mode & 0o077) !== 0 };
}
