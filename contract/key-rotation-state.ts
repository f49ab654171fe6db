/**
 * The signing keys' rotation state as stored (KEY_ROTATION_ITEM in ./aws-names.ts): written by the rotation (the
 * rotator function, or the local runtime), read by the token function (the active key), the JWKS function (the
 * published keys) and the `broker-keys` CLI. Times are unix seconds.
 *
 * The item carries a MAC (HMAC-SHA-256 with the rotation state key) over its version and its state JSON exactly as
 * stored; a reader uses a state only when the MAC verifies (docs/key-rotation.md, "The rotation state's MAC").
 */
import { createHash } from 'node:crypto';
import type { KeyRotationSettings } from './broker-config';
import { describeValue, isPlainObject } from './config-error';

/**
 * A key's life: `published` (in the JWKS, not signing yet) → `active` (signs) → `retired` (stopped signing, still in
 * the JWKS) → `unpublished` (left the JWKS, its deletion not yet scheduled) → `deletion-scheduled`.
 */
export type KeyStatus = 'published' | 'active' | 'retired' | 'unpublished' | 'deletion-scheduled';
export const KEY_STATUSES: readonly KeyStatus[] = ['published', 'active', 'retired', 'unpublished', 'deletion-scheduled'];
/** The statuses whose key is in the JWKS. */
export const PUBLISHED_STATUSES: readonly KeyStatus[] = ['published', 'active', 'retired'];

/** The public half of a key, as the JWKS publishes it (RFC 7517; kid = RFC 7638 thumbprint). */
export interface PublishedJwk {
  readonly kty: 'RSA';
  readonly use: 'sig';
  readonly alg: 'RS256';
  readonly kid: string;
  readonly n: string;
  readonly e: string;
}

export interface RotationKey {
  /** The key's id in its key service: a KMS key ARN, or the local key file's name. */
  readonly keyId: string;
  readonly jwk: PublishedJwk;
  readonly status: KeyStatus;
  /** When it entered the JWKS. */
  readonly publishedAt: number;
  /** When it may start signing, at the earliest: `publishedAt + publishLeadSeconds` or later (an emergency key: at once). */
  readonly activatesAt: number;
  readonly activatedAt?: number;
  /** When it stopped signing. */
  readonly retiredAt?: number;
  /** When it left the JWKS. */
  readonly unpublishedAt?: number;
  readonly deletionScheduledAt?: number;
  /** Why it came: the schedule, a requested rotation, an emergency, or the key the deployment had before rotation. */
  readonly reason: 'schedule' | 'requested' | 'emergency' | 'initial' | 'adopted';
}

export interface RotationState {
  /** Oldest first. Keys whose deletion is scheduled are kept a while for the record, then dropped. */
  readonly keys: readonly RotationKey[];
}

export const EMPTY_ROTATION_STATE: RotationState = { keys: [] };

/** The stored state is not what this version writes: edited by hand, or written by a newer version. */
export class RotationStateError extends Error {
  readonly code = 'invalid_rotation_state';
  constructor(problem: string) {
    super(`The key rotation state item is invalid: ${problem}. Restore it from the rotator's last log line or run a rotation.`);
    this.name = 'RotationStateError';
  }
}

/** Names what the MAC is over, so a MAC made with the same key for anything else never verifies as a state's. */
export const ROTATION_STATE_MAC_DOMAIN = 'aws-azure-token-broker/key-rotation-state/v1';

/**
 * The bytes the rotation state key MACs for the item of `version` holding `stateJson` (exactly as stored): the SHA-256
 * digest of `${ROTATION_STATE_MAC_DOMAIN}\n${version}\n${stateJson}`. A digest, because KMS GenerateMac and VerifyMac
 * take at most 4096 bytes and a state of ten keys is longer (KMS API reference, GenerateMac "Message").
 */
export function rotationStateMacMessage(version: number, stateJson: string): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(`${ROTATION_STATE_MAC_DOMAIN}\n${String(version)}\n${stateJson}`, 'utf8')
      .digest(),
  );
}

/** Why a present rotation state item was refused. */
export type RotationStateRejection =
  /** It has no MAC attribute (or not a binary one). */
  | 'no-mac'
  /** Its MAC does not verify for its version and state: edited, or written without the rotation state key. */
  | 'mac-mismatch'
  /** Its MAC verifies, but its version is older than one this process already verified: an older item put back. */
  | 'replayed'
  /** The item is gone, after this process verified a version of it. */
  | 'deleted'
  /** Its version or state attribute is missing or not a usable number or string: nothing to verify. */
  | 'malformed';

const REJECTION_TEXT: Record<RotationStateRejection, string> = {
  'no-mac': 'it has no MAC',
  'mac-mismatch': 'its MAC does not verify',
  replayed: 'its version is older than one already verified: an older item was put back',
  deleted: 'it was deleted after a version of it was verified',
  malformed: 'its version or state attribute is missing or unusable',
};

/**
 * A rotation state item the broker did not write (or an older one put back): none of its keys is published, signs or
 * is acted upon. Thrown by the readers (token, JWKS, rotator) and shown by `broker-keys status`.
 */
export class RotationStateRejectedError extends Error {
  readonly code = 'rotation_state_rejected';
  constructor(
    readonly reason: RotationStateRejection,
    /** The version the item holds; 0 when it is gone, undefined when it has none that can be read. */
    readonly storedVersion: number | undefined,
  ) {
    super(
      `The key rotation state item${storedVersion === undefined ? '' : ` (version ${String(storedVersion)})`} was refused: ${REJECTION_TEXT[reason]}. ` +
        "None of its keys is used. Recover with `npx --no-install broker-keys rotate --emergency` (docs/key-rotation.md, 'A refused rotation state').",
    );
    this.name = 'RotationStateRejectedError';
  }
}

/** Whether `version` is one a state item can hold and a recovery can count on from (a positive safe integer). */
export function isUsableStateVersion(version: number): boolean {
  return Number.isSafeInteger(version) && version >= 1 && Number.isSafeInteger(version + 1);
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const OPTIONAL_TIMES = ['activatedAt', 'retiredAt', 'unpublishedAt', 'deletionScheduledAt'] as const;
const REASONS = ['schedule', 'requested', 'emergency', 'initial', 'adopted'];

/**
 * Parses the stored JSON.
 * @throws RotationStateError naming the first field that is not as this version writes it
 */
export function parseRotationState(json: string): RotationState {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new RotationStateError('not JSON');
  }
  if (!isPlainObject(raw) || !Array.isArray(raw.keys))
    throw new RotationStateError(`expected {"keys": [...]}, received ${describeValue(raw)}`);
  const keys = raw.keys.map((entry: unknown, index): RotationKey => {
    const at = `keys[${index}]`;
    if (!isPlainObject(entry)) throw new RotationStateError(`${at}: expected an object, received ${describeValue(entry)}`);
    const { jwk } = entry;
    if (!isText(entry.keyId)) throw new RotationStateError(`${at}.keyId: expected a string, received ${describeValue(entry.keyId)}`);
    if (
      !isPlainObject(jwk) ||
      jwk.kty !== 'RSA' ||
      jwk.use !== 'sig' ||
      jwk.alg !== 'RS256' ||
      !isText(jwk.kid) ||
      !isText(jwk.n) ||
      !isText(jwk.e)
    ) {
      throw new RotationStateError(`${at}.jwk: expected an RS256 signing JWK, received ${describeValue(jwk)}`);
    }
    if (!(KEY_STATUSES as readonly unknown[]).includes(entry.status)) {
      throw new RotationStateError(`${at}.status: expected one of ${KEY_STATUSES.join(', ')}, received ${describeValue(entry.status)}`);
    }
    if (!REASONS.includes(entry.reason as string)) {
      throw new RotationStateError(`${at}.reason: expected one of ${REASONS.join(', ')}, received ${describeValue(entry.reason)}`);
    }
    for (const field of ['publishedAt', 'activatesAt', ...OPTIONAL_TIMES] as const) {
      const value = entry[field];
      const optional = (OPTIONAL_TIMES as readonly string[]).includes(field);
      if (!(isTime(value) || (optional && value === undefined))) {
        throw new RotationStateError(`${at}.${field}: expected unix seconds, received ${describeValue(value)}`);
      }
    }
    return {
      keyId: entry.keyId,
      jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid: jwk.kid, n: jwk.n, e: jwk.e },
      status: entry.status as KeyStatus,
      reason: entry.reason as RotationKey['reason'],
      publishedAt: entry.publishedAt as number,
      activatesAt: entry.activatesAt as number,
      ...Object.fromEntries(OPTIONAL_TIMES.filter((field) => entry[field] !== undefined).map((field) => [field, entry[field]])),
    };
  });
  const active = keys.filter((key) => key.status === 'active').length;
  if (keys.length > 0 && active !== 1) throw new RotationStateError(`expected exactly one active key, found ${active}`);
  return { keys };
}

/** The key that signs now; undefined before the first rotation ran. */
export function activeKey(state: RotationState): RotationKey | undefined {
  return state.keys.find((key) => key.status === 'active');
}

/** The keys in the JWKS: the active one first, then the next, then the retired ones. */
export function publishedKeys(state: RotationState): RotationKey[] {
  const order: Record<string, number> = { active: 0, published: 1, retired: 2 };
  return state.keys
    .filter((key) => PUBLISHED_STATUSES.includes(key.status))
    .sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3));
}

/**
 * Reads `KeyRotationSettings` from the JSON the stack passes to the functions (BROKER_KEY_ROTATION), already validated
 * at synth (contract/broker-config.ts); checked again here only for shape.
 * @throws Error naming the field when a figure is not a positive integer
 */
export function parseKeyRotationSettingsJson(json: string): KeyRotationSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = undefined;
  }
  const fields = ['intervalSeconds', 'publishLeadSeconds', 'retireAfterSeconds'] as const;
  const value = isPlainObject(raw) ? raw : {};
  for (const field of fields) {
    const figure = value[field];
    if (!(typeof figure === 'number' && Number.isInteger(figure) && figure > 0)) {
      throw new Error(`keyRotation.${field}: expected a positive integer, received ${describeValue(figure)}`);
    }
  }
  return {
    intervalSeconds: value.intervalSeconds as number,
    publishLeadSeconds: value.publishLeadSeconds as number,
    retireAfterSeconds: value.retireAfterSeconds as number,
  };
}
