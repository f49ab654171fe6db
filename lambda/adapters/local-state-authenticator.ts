/**
 * The local stand-in for the rotation state's KMS HMAC key (the local runtime's `rotationStateKeyFile`): HMAC-SHA-256
 * with a 256-bit key, as KMS computes it for an HMAC_256 key with HMAC_SHA_256 (RFC 2104).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { StateAuthenticator } from '../core/ports';

const KEY_BYTES = 32;

export class LocalStateAuthenticator implements StateAuthenticator {
  private readonly key: Buffer;

  /** @throws TypeError when the key is not 32 bytes */
  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new TypeError(`rotation state key: expected ${KEY_BYTES} bytes, received ${key.length}`);
    this.key = Buffer.from(key);
  }

  async mac(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHmac('sha256', this.key).update(message).digest());
  }

  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const expected = createHmac('sha256', this.key).update(message).digest();
    // Compared in constant time, and only at equal length (timingSafeEqual throws otherwise).
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }
}
