/**
 * The local stand-in for KMS data keys (the local runtime's `sealingKeyFile`): a 256-bit master key held in memory
 * wraps each data key with AES-256-GCM, the encryption context as additional data, so a data key opens only with
 * the same master key and context, as with KMS.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKey, DataKeyProvider } from '../core/ports';
import { DataKeyRejectedError } from '../core/token-sealing';
import { sealingEncryptionContext } from './kms-data-keys';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class LocalDataKeys implements DataKeyProvider {
  private readonly masterKey: Buffer;
  private readonly aad: Buffer;

  /**
   * @param masterKey 32 bytes (the sealing key file's content)
   * @param deployment the name in the encryption context
   * @throws TypeError when the master key is not 32 bytes
   */
  constructor(masterKey: Uint8Array, deployment: string) {
    if (masterKey.length !== KEY_BYTES) throw new TypeError(`sealing key: expected ${KEY_BYTES} bytes, received ${masterKey.length}`);
    this.masterKey = Buffer.from(masterKey);
    const context = sealingEncryptionContext(deployment);
    this.aad = Buffer.from(
      JSON.stringify(
        Object.keys(context)
          .sort()
          .map((key) => [key, context[key]]),
      ),
      'utf8',
    );
  }

  async generateDataKey(): Promise<DataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(this.aad);
    const wrapped = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { plaintext: new Uint8Array(plaintext), wrapped: new Uint8Array(wrapped) };
  }

  /** @throws DataKeyRejectedError when the wrapped key was not made by this master key for this context, or was altered */
  async decryptDataKey(wrapped: Uint8Array): Promise<Uint8Array> {
    const bytes = Buffer.from(wrapped);
    if (bytes.length !== IV_BYTES + KEY_BYTES + TAG_BYTES)
      throw new DataKeyRejectedError('not a wrapped data key of the local sealing key');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(this.aad);
      decipher.setAuthTag(bytes.subarray(IV_BYTES + KEY_BYTES));
      return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, IV_BYTES + KEY_BYTES)), decipher.final()]));
    } catch (error) {
      throw new DataKeyRejectedError('the data key was not wrapped by the local sealing key for this deployment', { cause: error });
    }
  }
}
