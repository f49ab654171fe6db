/**
 * The local stand-in for the rotation's KMS keys: one PKCS#8 PEM RSA-2048 key per file (mode 0600) in `signingKeyDir`
 * (mode 0700), named `<uuid>.pem`; the file name is the key id the rotation state holds. Processes sharing one table
 * share the folder, so whichever process creates a key, every process can sign with it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { rsaPublicKeyToJwk } from '../../lambda/core/jwk';
import { InternalError } from '../../lambda/core/errors';
import type { PublishedJwk } from '../../contract/key-rotation-state';
import type { KeySigner, SigningKeyService } from '../../lambda/core/ports';
import { createFileOnce } from './key-file';

/** What a key id must look like: a state edited to name `../something` never reaches the file system. */
const KEY_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.pem$/;

/** `SigningKeyService` and `KeySigner` on a folder of PEM files. */
export class SigningKeyDirectory implements SigningKeyService, KeySigner {
  private readonly loaded = new Map<string, Promise<KeyObject>>();

  constructor(readonly folder: string) {}

  /**
   * Creates the folder (0700) if missing; tightens it when it is open to others.
   * @returns whether it was readable by others before
   */
  async prepare(): Promise<{ tooOpen: boolean }> {
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    const tooOpen = ((await stat(this.folder)).mode & 0o077) !== 0;
    if (tooOpen) await chmod(this.folder, 0o700);
    return { tooOpen };
  }

  /** A new RSA-2048 key file (0600, written atomically); its name is the key id. */
  async createKey(): Promise<string> {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = `${randomUUID()}.pem`;
    await createFileOnce(join(this.folder, keyId), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    return keyId;
  }

  /** @throws InternalError naming the key id when its file is missing or not an RSA key */
  async publicKey(keyId: string): Promise<PublishedJwk> {
    return rsaPublicKeyToJwk(createPublicKey(await this.privateKey(keyId)));
  }

  /** Deletes the file at once (there is no pending window locally); a file already gone is fine. */
  async scheduleDeletion(keyId: string): Promise<void> {
    this.loaded.delete(keyId);
    try {
      await unlink(join(this.folder, checkedKeyId(keyId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** @throws InternalError naming the key id when its file is missing or not an RSA key */
  async sign(keyId: string, signingInput: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', signingInput, await this.privateKey(keyId));
  }

  private privateKey(keyId: string): Promise<KeyObject> {
    let key = this.loaded.get(keyId);
    if (!key) {
      key = this.load(keyId);
      this.loaded.set(keyId, key);
      key.catch(() => this.loaded.delete(keyId));
    }
    return key;
  }

  private async load(keyId: string): Promise<KeyObject> {
    const file = join(this.folder, checkedKeyId(keyId));
    let key: KeyObject;
    try {
      key = createPrivateKey(await readFile(file, 'utf8'));
    } catch (error) {
      throw new InternalError(
        `The signing key ${keyId} named by the rotation state cannot be read from signingKeyDir ${this.folder} (${(error as NodeJS.ErrnoException).code ?? 'not a PEM key'}): do all processes sharing the table share this folder?`,
        { cause: error },
      );
    }
    if (key.asymmetricKeyType !== 'rsa') throw new InternalError(`The signing key ${keyId} in ${this.folder} is not an RSA key.`);
    return key;
  }
}

function checkedKeyId(keyId: string): string {
  if (!KEY_FILE.test(keyId))
    throw new InternalError(
      `The rotation state names a key id that is not a key file of signingKeyDir: ${JSON.stringify(keyId.slice(0, 80))}`,
    );
  return keyId;
}
