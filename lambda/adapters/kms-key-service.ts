/**
 * The rotation's keys in KMS: RSA_2048 SIGN_VERIFY keys, created with the signing-key policy the stack builds
 * (lib/key-policies.ts: only the token function's role signs, RS256 only, no grants) and tagged with the deployment,
 * which is what the token role's sign permission and the rotator's deletion permission are limited to.
 */
import { CreateKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ROTATED_KEY_TAG } from '../../contract/aws-names';
import { InternalError } from '../core/errors';
import type { PublishedJwk } from '../../contract/key-rotation-state';
import type { SigningKeyService } from '../core/ports';
import { kmsError } from './kms-errors';
import { fetchPublicJwk } from './kms-signer';

/** KMS's pending window for a retired key (its maximum): time to notice and cancel a deletion that should not be. */
export const DELETION_PENDING_DAYS = 30;

export interface KmsKeyServiceOptions {
  /** The deployment's name: the value of the ROTATED_KEY_TAG tag on every key created. */
  readonly deployment: string;
  /** The key policy document (JSON) every new key gets. */
  readonly keyPolicy: string;
}

/** `SigningKeyService` on KMS. */
export class KmsKeyService implements SigningKeyService {
  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsKeyServiceOptions,
  ) {}

  /**
   * `CreateKey` RSA_2048 SIGN_VERIFY with the signing-key policy and the deployment tag. The policy lockout check is
   * bypassed on purpose: the policy keeps the key administrable by the account (its first statement), and the
   * rotator must not be able to rewrite the policy of a key it created (that would let it lift the sign restriction).
   * @throws UpstreamUnavailableError / InternalError as kmsError maps KMS's answer
   */
  async createKey(): Promise<string> {
    try {
      const output = await this.kms.send(
        new CreateKeyCommand({
          KeySpec: 'RSA_2048',
          KeyUsage: 'SIGN_VERIFY',
          Description: `Token broker ${this.options.deployment}: signs client assertions for Entra ID (RS256), created by the key rotation`,
          Policy: this.options.keyPolicy,
          BypassPolicyLockoutSafetyCheck: true,
          Tags: [{ TagKey: ROTATED_KEY_TAG, TagValue: this.options.deployment }],
        }),
      );
      const arn = output.KeyMetadata?.Arn;
      if (!arn) throw new InternalError('AWS KMS CreateKey returned no key ARN.');
      return arn;
    } catch (error) {
      throw error instanceof InternalError ? error : kmsError(error, 'CreateKey');
    }
  }

  /** @throws InternalError when the key is not an RS256 key; kmsError's mapping for KMS failures */
  publicKey(keyId: string): Promise<PublishedJwk> {
    return fetchPublicJwk(this.kms, keyId);
  }

  /**
   * `ScheduleKeyDeletion` with the longest pending window. A key already pending deletion (KMSInvalidStateException)
   * or gone (NotFoundException) is what a rerun after a crash finds: not an error.
   * @throws kmsError's mapping for any other failure
   */
  async scheduleDeletion(keyId: string): Promise<void> {
    try {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: DELETION_PENDING_DAYS }));
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'KMSInvalidStateException' || name === 'NotFoundException') return;
      throw kmsError(error, 'ScheduleKeyDeletion');
    }
  }
}
