/**
 * A SigningKeyService over real RSA key pairs (node:crypto), recording what it was asked. Key pairs come from a small
 * pool (generating RSA keys is slow), so two keys far apart in a long schedule may share a public half; tests that
 * look at kids use fewer keys than the pool holds.
 */
import { rsaPublicKeyToJwk } from '../../lambda/core/jwk';
import type { PublishedJwk } from '../../contract/key-rotation-state';
import type { SigningKeyService } from '../../lambda/core/ports';
import { rsaKeyPair } from './rsa-keys';

export const KEY_POOL_SIZE = 6;

export class FakeKeyService implements SigningKeyService {
  readonly created: string[] = [];
  /** Every scheduleDeletion call, repeats included. */
  readonly deletionCalls: string[] = [];
  /** Runs before each operation: throw from it to fail that call. */
  beforeCall: (operation: 'createKey' | 'publicKey' | 'scheduleDeletion', keyId?: string) => void = () => undefined;
  private next = 0;

  async createKey(): Promise<string> {
    this.beforeCall('createKey');
    const keyId = `key-${String(this.next++)}`;
    this.created.push(keyId);
    return keyId;
  }

  async publicKey(keyId: string): Promise<PublishedJwk> {
    this.beforeCall('publicKey', keyId);
    const index = Number(keyId.replace(/\D/g, '') || '0') % KEY_POOL_SIZE;
    return rsaPublicKeyToJwk(rsaKeyPair(`pool-${String(index)}`).publicKey);
  }

  async scheduleDeletion(keyId: string): Promise<void> {
    this.beforeCall('scheduleDeletion', keyId);
    this.deletionCalls.push(keyId);
  }

  /** Keys whose deletion was scheduled at least once. */
  get deleted(): Set<string> {
    return new Set(this.deletionCalls);
  }
}
