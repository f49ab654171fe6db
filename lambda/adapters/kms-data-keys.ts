/**
 * Data keys for sealing cached tokens from a symmetric customer-managed KMS key (`GenerateDataKey` AES_256, and
 * `Decrypt` pinned to that key), each bound by its encryption context to the broker's purpose and deployment.
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SEALING_CONTEXT_KEYS, SEALING_PURPOSE } from '../../contract/aws-names';
import { InternalError } from '../core/errors';
import type { DataKey, DataKeyProvider } from '../core/ports';
import { DataKeyRejectedError } from '../core/token-sealing';
import { kmsError } from './kms-errors';

/**
 * KMS answers that mean "this wrapped key is not one of ours": tampered or truncated (InvalidCiphertextException),
 * another key's (IncorrectKeyException, since Decrypt names the key). Anything else is about KMS or the permissions.
 */
const REJECTIONS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** The encryption context of the broker's data keys for `deployment`. */
export function sealingEncryptionContext(deployment: string): Record<string, string> {
  return { [SEALING_CONTEXT_KEYS.purpose]: SEALING_PURPOSE, [SEALING_CONTEXT_KEYS.deployment]: deployment };
}

export class KmsDataKeys implements DataKeyProvider {
  private readonly context: Record<string, string>;

  /**
   * @param keyArn the symmetric key (`BROKER_TOKEN_CACHE_KEY_ARN`)
   * @param deployment the deployment's name (`BROKER_DEPLOYMENT`), in the encryption context
   */
  constructor(
    private readonly kms: KMSClient,
    private readonly keyArn: string,
    deployment: string,
  ) {
    this.context = sealingEncryptionContext(deployment);
  }

  /** @throws UpstreamUnavailableError (KMS throttling/unavailable) or InternalError (KMS refused) */
  async generateDataKey(): Promise<DataKey> {
    let output;
    try {
      output = await this.kms.send(new GenerateDataKeyCommand({ KeyId: this.keyArn, KeySpec: 'AES_256', EncryptionContext: this.context }));
    } catch (error) {
      throw kmsError(error, 'GenerateDataKey');
    }
    if (!output.Plaintext || !output.CiphertextBlob) throw new InternalError('AWS KMS GenerateDataKey returned no data key.');
    return { plaintext: output.Plaintext, wrapped: output.CiphertextBlob };
  }

  /**
   * @throws DataKeyRejectedError when KMS says the wrapped key is not this key's (or was tampered with)
   * @throws UpstreamUnavailableError (KMS throttling/unavailable) or InternalError (KMS refused)
   */
  async decryptDataKey(wrapped: Uint8Array): Promise<Uint8Array> {
    let output;
    try {
      output = await this.kms.send(new DecryptCommand({ KeyId: this.keyArn, CiphertextBlob: wrapped, EncryptionContext: this.context }));
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (REJECTIONS.has(name)) throw new DataKeyRejectedError(`AWS KMS Decrypt refused the item's data key (${name}).`, { cause: error });
      throw kmsError(error, 'Decrypt');
    }
    if (!output.Plaintext) throw new InternalError('AWS KMS Decrypt returned no plaintext.');
    return output.Plaintext;
  }
}
