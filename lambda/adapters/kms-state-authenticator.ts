/**
 * The rotation state's MAC with the deployment's KMS HMAC_256 key (`BROKER_ROTATION_STATE_KEY_ARN`): GenerateMac (the
 * rotator alone may, by the key policy) and VerifyMac (the token, JWKS and rotator functions), HMAC_SHA_256.
 */
import { GenerateMacCommand, VerifyMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ROTATION_STATE_MAC_ALGORITHM } from '../../contract/aws-names';
import { InternalError } from '../core/errors';
import type { StateAuthenticator } from '../core/ports';
import { kmsError } from './kms-errors';

/**
 * VerifyMac's answer for a MAC that does not match: the operation fails with this exception rather than answering
 * `MacValid: false` (KMS API reference, VerifyMac "MacValid" and "Errors"). It means "not verified", not "KMS failed".
 */
const INVALID_MAC = 'KMSInvalidMacException';

export class KmsStateAuthenticator implements StateAuthenticator {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyArn: string,
  ) {}

  /** @throws UpstreamUnavailableError (KMS throttling/unavailable) or InternalError (KMS refused, e.g. not the rotator) */
  async mac(message: Uint8Array): Promise<Uint8Array> {
    let output;
    try {
      output = await this.kms.send(
        new GenerateMacCommand({ KeyId: this.keyArn, Message: message, MacAlgorithm: ROTATION_STATE_MAC_ALGORITHM }),
      );
    } catch (error) {
      throw kmsError(error, 'GenerateMac');
    }
    if (!output.Mac) throw new InternalError('AWS KMS GenerateMac returned no MAC.');
    return output.Mac;
  }

  /**
   * @returns false when KMS says the MAC does not match
   * @throws UpstreamUnavailableError (KMS throttling/unavailable) or InternalError (KMS refused)
   */
  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    try {
      const output = await this.kms.send(
        new VerifyMacCommand({ KeyId: this.keyArn, Message: message, Mac: mac, MacAlgorithm: ROTATION_STATE_MAC_ALGORITHM }),
      );
      return output.MacValid === true;
    } catch (error) {
      if (error instanceof Error && error.name === INVALID_MAC) return false;
      throw kmsError(error, 'VerifyMac');
    }
  }
}
