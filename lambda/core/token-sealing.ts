/**
 * Sealing of cached tokens: envelope encryption (a data key from KMS, AES-256-GCM here), because an Entra token can
 * be larger than the 4 KB KMS `Encrypt` takes. The additional authenticated data binds each item to what it is the
 * token of (cache key, authority, tenant, app, scope) and to the envelope's own header, so an item edited, moved to
 * another key, or carrying another item's data key does not open. The data key's KMS encryption context binds it to
 * the broker's purpose and deployment (DataKeyProvider).
 *
 * Envelope, format 1 (bytes): version (1) · wrapped data key length (2, big-endian) · wrapped data key · IV (12) ·
 * ciphertext · GCM tag (16). The plaintext is JSON: `{accessToken, expiresOn, issuedOn, scope, uti?, correlationId}`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CachedToken, Clock, DataKey, DataKeyProvider } from './ports';

export const SEALED_FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_FIXED_BYTES = 3;
/** A KMS ciphertext blob of a 256-bit data key is about 180 bytes; anything far larger is not one. */
const MAX_WRAPPED_BYTES = 1024;
/** Names the format in the additional data, so a blob made for anything else never authenticates as a cached token. */
const AAD_LABEL = 'aws-azure-token-broker/sealed-token';

/** What a sealed item is the token of; `cacheKey` is `tokenCacheKey` of the rest. */
export interface SealBinding {
  readonly cacheKey: string;
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly scope: string;
}

/** Why a sealed item was not opened (a log field and a test handle; never shown to a caller). */
export type SealRejection =
  /** Not an envelope of a known shape. */
  | 'malformed'
  /** An envelope of a format this broker does not read. */
  | 'unsupported-version'
  /** The key service refused the wrapped data key: tampered, another key's, or another deployment's. */
  | 'data-key-rejected'
  /** AES-GCM authentication failed: edited, or bound to another cache key, app, tenant or scope. */
  | 'not-authentic'
  /** Authentic, but not a token record (a bug or a future format). */
  | 'invalid-content';

/** A sealed item that does not open. The cache treats it as a miss. */
export class SealedItemRejectedError extends Error {
  readonly code = 'sealed_item_rejected';
  constructor(
    readonly reason: SealRejection,
    options?: { cause?: unknown },
  ) {
    super(`The cached item does not open (${reason}); it is treated as a miss.`, options);
    this.name = 'SealedItemRejectedError';
  }
}

/** Thrown by a DataKeyProvider when a wrapped data key does not open (as opposed to the key service being unavailable). */
export class DataKeyRejectedError extends Error {
  readonly code = 'data_key_rejected';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataKeyRejectedError';
  }
}

/** How long one data key seals new items. */
const DATA_KEY_REUSE_MS = 15 * 60_000;
/** How many items one data key seals at most (far below AES-GCM's limit for random IVs). */
const DATA_KEY_MAX_USES = 1000;
/** How many opened data keys are kept in memory, most recently used first. */
const OPENED_KEYS_MAX = 32;
/** How long an opened data key is kept, so a key policy change reaches warm containers too. */
const OPENED_KEY_TTL_MS = 60 * 60_000;

export interface TokenSealerOptions {
  readonly keys: DataKeyProvider;
  readonly clock: Clock;
}

interface SealingKey {
  readonly key: DataKey;
  readonly until: number;
  uses: number;
}

interface OpenedKey {
  readonly plaintext: Promise<Uint8Array>;
  readonly until: number;
}

/**
 * Seals and opens cached tokens. Data keys are reused for sealing for a bounded time and count, and opened data keys
 * are kept (bounded), so a warm container's L2 hit costs no key-service call.
 */
export class TokenSealer {
  private readonly keys: DataKeyProvider;
  private readonly clock: Clock;
  private sealing: Promise<SealingKey> | undefined;
  /** By wrapped key (base64); Map order is recency order. */
  private readonly opened = new Map<string, OpenedKey>();

  constructor(options: TokenSealerOptions) {
    this.keys = options.keys;
    this.clock = options.clock;
  }

  /**
   * Seals `token` for `binding`.
   * @throws what the DataKeyProvider throws when it needs a new data key and cannot give one
   */
  async seal(token: CachedToken, binding: SealBinding): Promise<Uint8Array> {
    const { key } = await this.sealingKey();
    const wrappedLength = Buffer.alloc(2);
    wrappedLength.writeUInt16BE(key.wrapped.length);
    const header = Buffer.concat([Buffer.from([SEALED_FORMAT_VERSION]), wrappedLength, key.wrapped]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
    cipher.setAAD(additionalData(binding, header));
    const { accessToken, expiresOn, issuedOn, scope, uti, correlationId } = token;
    const plaintext = Buffer.from(JSON.stringify({ accessToken, expiresOn, issuedOn, scope, uti, correlationId }), 'utf8');
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]));
  }

  /**
   * Opens an item sealed for `binding`.
   * @throws SealedItemRejectedError when it does not open, with the reason
   * @throws what the DataKeyProvider throws when the key service is unavailable or refuses the call
   */
  async open(sealed: Uint8Array, binding: SealBinding): Promise<CachedToken> {
    const envelope = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (envelope.length < HEADER_FIXED_BYTES) throw new SealedItemRejectedError('malformed');
    if (envelope[0] !== SEALED_FORMAT_VERSION) throw new SealedItemRejectedError('unsupported-version');
    const wrappedLength = envelope.readUInt16BE(1);
    const headerEnd = HEADER_FIXED_BYTES + wrappedLength;
    if (wrappedLength === 0 || wrappedLength > MAX_WRAPPED_BYTES || envelope.length < headerEnd + IV_BYTES + TAG_BYTES) {
      throw new SealedItemRejectedError('malformed');
    }
    const header = envelope.subarray(0, headerEnd);
    const iv = envelope.subarray(headerEnd, headerEnd + IV_BYTES);
    const ciphertext = envelope.subarray(headerEnd + IV_BYTES, envelope.length - TAG_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    const dataKey = await this.openedKey(envelope.subarray(HEADER_FIXED_BYTES, headerEnd));

    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(binding, header));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (error) {
      throw new SealedItemRejectedError('not-authentic', { cause: error });
    }
    return parseRecord(plaintext);
  }

  private async sealingKey(): Promise<SealingKey> {
    const now = this.clock();
    if (this.sealing) {
      const current = await this.sealing.catch(() => undefined);
      if (current && current.until > now && current.uses < DATA_KEY_MAX_USES) {
        current.uses += 1;
        return current;
      }
    }
    const next = this.keys.generateDataKey().then((key) => {
      if (key.plaintext.length !== KEY_BYTES) throw new Error(`a data key must be ${KEY_BYTES} bytes, received ${key.plaintext.length}`);
      // This container opens what it sealed without asking the key service.
      this.remember(key.wrapped, Promise.resolve(key.plaintext));
      return { key, until: this.clock() + DATA_KEY_REUSE_MS, uses: 1 };
    });
    this.sealing = next;
    next.catch(() => {
      if (this.sealing === next) this.sealing = undefined;
    });
    return next;
  }

  private openedKey(wrapped: Buffer): Promise<Uint8Array> {
    const id = wrapped.toString('base64');
    const known = this.opened.get(id);
    if (known && known.until > this.clock()) {
      this.opened.delete(id);
      this.opened.set(id, known);
      return known.plaintext;
    }
    const plaintext = this.keys.decryptDataKey(new Uint8Array(wrapped)).then(
      (key) => {
        if (key.length !== KEY_BYTES) throw new SealedItemRejectedError('data-key-rejected');
        return key;
      },
      (error: unknown) => {
        throw error instanceof DataKeyRejectedError ? new SealedItemRejectedError('data-key-rejected', { cause: error }) : error;
      },
    );
    this.remember(wrapped, plaintext);
    // A failure is not kept: the next read asks again (the key service may be back).
    plaintext.catch(() => {
      if (this.opened.get(id)?.plaintext === plaintext) this.opened.delete(id);
    });
    return plaintext;
  }

  private remember(wrapped: Uint8Array, plaintext: Promise<Uint8Array>): void {
    const id = Buffer.from(wrapped).toString('base64');
    this.opened.delete(id);
    this.opened.set(id, { plaintext, until: this.clock() + OPENED_KEY_TTL_MS });
    while (this.opened.size > OPENED_KEYS_MAX) {
      const oldest = this.opened.keys().next().value;
      if (oldest === undefined) break;
      this.opened.delete(oldest);
    }
  }
}

/** The canonical encoding of the binding (a JSON array of strings is unambiguous), then the envelope header. */
function additionalData(binding: SealBinding, header: Uint8Array): Buffer {
  const context = JSON.stringify([
    AAD_LABEL,
    SEALED_FORMAT_VERSION,
    binding.cacheKey,
    binding.authorityHost,
    binding.tenantId.toLowerCase(),
    binding.clientId.toLowerCase(),
    binding.scope,
  ]);
  return Buffer.concat([Buffer.from(context, 'utf8'), header]);
}

function parseRecord(plaintext: Buffer): CachedToken {
  let record: unknown;
  try {
    record = JSON.parse(plaintext.toString('utf8'));
  } catch (error) {
    throw new SealedItemRejectedError('invalid-content', { cause: error });
  }
  if (typeof record !== 'object' || record === null) throw new SealedItemRejectedError('invalid-content');
  const { accessToken, expiresOn, issuedOn, scope, uti, correlationId } = record as Record<string, unknown>;
  if (
    typeof accessToken !== 'string' ||
    accessToken.length === 0 ||
    typeof scope !== 'string' ||
    typeof expiresOn !== 'number' ||
    !Number.isFinite(expiresOn) ||
    typeof issuedOn !== 'number' ||
    !Number.isFinite(issuedOn)
  ) {
    throw new SealedItemRejectedError('invalid-content');
  }
  return {
    accessToken,
    expiresOn,
    issuedOn,
    scope,
    ...(typeof uti === 'string' && uti ? { uti } : {}),
    ...(typeof correlationId === 'string' && correlationId ? { correlationId } : {}),
  };
}
