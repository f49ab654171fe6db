/**
 * The signing-key rotation's rules, as pure functions of the state and the time (unix seconds):
 * - a key is in the JWKS at least `publishLeadSeconds` before it signs (an emergency key excepted);
 * - exactly one key is active; a new one becomes active every `intervalSeconds`;
 * - the previous key stays in the JWKS `retireAfterSeconds` after it stopped signing, then leaves it, and only then is
 *   its deletion scheduled (except the stack's own key, adopted as the first one: it only leaves the JWKS).
 * `nextRotationStep` says what to do next; `applyRotationStep` is the state after doing it. The runner
 * (./key-rotation.ts) does the side effects between them and writes each new state conditionally.
 */
import type { KeyRotationSettings } from '../../contract/broker-config';
import { activeKey, type PublishedJwk, type RotationKey, type RotationState } from '../../contract/key-rotation-state';

/** A rotation asked for now (`broker-keys rotate`), rather than by the schedule. */
export interface RotationRequest {
  /**
   * `rotate`: publish a new key now, activate it after the lead (no exchange fails). `emergency`: a new key signs at
   * once and every other key leaves the JWKS at once (exchanges may fail with AADSTS7000272 until Entra refetches).
   */
  readonly kind: 'rotate' | 'emergency';
  /** Unix seconds: the request is done once a key published (or, for rotate, activated) at or after it exists. */
  readonly requestedAt: number;
}

export type RotationStep =
  /** No key yet: adopt the deployment's existing key as the first active one. */
  | { readonly kind: 'adopt'; readonly keyId: string }
  /**
   * Create a key: `initial` (none yet: active at once), `schedule` / `requested` (published, activates at
   * `activatesAt`), `emergency` (active at once; every other key leaves the JWKS).
   */
  | { readonly kind: 'create'; readonly reason: 'initial' | 'schedule' | 'requested' | 'emergency'; readonly activatesAt: number }
  /** A requested rotation while a next key is already published: it activates as soon as its lead allows. */
  | { readonly kind: 'bring-forward'; readonly keyId: string; readonly activatesAt: number }
  | { readonly kind: 'activate'; readonly keyId: string }
  | { readonly kind: 'unpublish'; readonly keyId: string }
  | { readonly kind: 'schedule-deletion'; readonly keyId: string };

/** How many keys whose deletion is scheduled the state keeps, for `broker-keys status`. */
export const DELETED_KEYS_KEPT = 5;

export interface PlanOptions {
  readonly request?: RotationRequest;
  /** The key the deployment signed with before rotation, adopted when the state is empty. @default - a new key is created */
  readonly adoptableKeyId?: string;
}

function requestDone(state: RotationState, request: RotationRequest, settings: KeyRotationSettings): boolean {
  const active = activeKey(state);
  if (request.kind === 'emergency') {
    // Done when the active key came after the request and nothing else is published.
    return (
      active !== undefined && active.publishedAt >= request.requestedAt && state.keys.every((key) => key === active || !isPublished(key))
    );
  }
  return state.keys.some(
    (key) =>
      ((key.status === 'published' || key.status === 'active') && key.publishedAt >= request.requestedAt) ||
      (key.activatedAt !== undefined && key.activatedAt >= request.requestedAt) ||
      (key.status === 'published' && key.activatesAt <= key.publishedAt + settings.publishLeadSeconds),
  );
}

const isPublished = (key: RotationKey): boolean => key.status === 'published' || key.status === 'active' || key.status === 'retired';

/** What to do next at `now`; undefined when the state is as the rules want it now. */
export function nextRotationStep(
  state: RotationState,
  now: number,
  settings: KeyRotationSettings,
  options: PlanOptions = {},
): RotationStep | undefined {
  const { request } = options;
  const active = activeKey(state);
  if (!active) {
    if (options.adoptableKeyId !== undefined) return { kind: 'adopt', keyId: options.adoptableKeyId };
    return { kind: 'create', reason: 'initial', activatesAt: now };
  }
  const pending = request && !requestDone(state, request, settings) ? request : undefined;
  if (pending?.kind === 'emergency') return { kind: 'create', reason: 'emergency', activatesAt: now };

  const next = state.keys.find((key) => key.status === 'published');
  if (next && pending) {
    return {
      kind: 'bring-forward',
      keyId: next.keyId,
      activatesAt: Math.min(next.activatesAt, next.publishedAt + settings.publishLeadSeconds),
    };
  }
  if (next && now >= next.activatesAt) return { kind: 'activate', keyId: next.keyId };

  const expired = state.keys.find(
    (key) => key.status === 'retired' && key.retiredAt !== undefined && now >= key.retiredAt + settings.retireAfterSeconds,
  );
  if (expired) return { kind: 'unpublish', keyId: expired.keyId };
  // The adopted key belongs to the stack (CloudFormation keeps it, retained): it leaves the JWKS, but deleting it is the
  // operator's call (docs/key-rotation.md), so the rotator never holds the right to.
  const unpublished = state.keys.find((key) => key.status === 'unpublished' && key.reason !== 'adopted');
  if (unpublished) return { kind: 'schedule-deletion', keyId: unpublished.keyId };

  if (!next && pending) return { kind: 'create', reason: 'requested', activatesAt: now + settings.publishLeadSeconds };
  const activatedAt = active.activatedAt ?? active.publishedAt;
  if (!next && now >= activatedAt + settings.intervalSeconds - settings.publishLeadSeconds) {
    return {
      kind: 'create',
      reason: 'schedule',
      activatesAt: Math.max(now + settings.publishLeadSeconds, activatedAt + settings.intervalSeconds),
    };
  }
  return undefined;
}

/** A key the step created or adopted: its id and public half. */
export interface NewKey {
  readonly keyId: string;
  readonly jwk: PublishedJwk;
}

/** Thrown when a step does not fit the state it is applied to: a bug, never a race (the runner re-plans after each read). */
export class RotationStepError extends Error {
  readonly code = 'rotation_step_mismatch';
  constructor(message: string) {
    super(message);
    this.name = 'RotationStepError';
  }
}

function withKey(state: RotationState, keyId: string, change: (key: RotationKey) => RotationKey): RotationState {
  if (!state.keys.some((key) => key.keyId === keyId)) throw new RotationStepError(`key ${keyId} is not in the rotation state`);
  return { keys: state.keys.map((key) => (key.keyId === keyId ? change(key) : key)) };
}

function trimmed(state: RotationState): RotationState {
  const deleted = state.keys.filter((key) => key.status === 'deletion-scheduled');
  const dropped = new Set(deleted.slice(0, Math.max(0, deleted.length - DELETED_KEYS_KEPT)));
  return { keys: state.keys.filter((key) => !dropped.has(key)) };
}

/**
 * The state once `step` is done at `now`.
 * @throws RotationStepError when `step` needs a key (create, adopt) and none is given, or names a key not in the state
 */
export function applyRotationStep(state: RotationState, step: RotationStep, now: number, created?: NewKey): RotationState {
  switch (step.kind) {
    case 'adopt':
    case 'create': {
      if (!created) throw new RotationStepError(`a ${step.kind} step needs the new key`);
      const immediate = step.kind === 'adopt' || step.reason === 'initial' || step.reason === 'emergency';
      const reason = step.kind === 'adopt' ? 'adopted' : step.reason;
      const key: RotationKey = immediate
        ? { ...created, status: 'active', reason, publishedAt: now, activatesAt: now, activatedAt: now }
        : { ...created, status: 'published', reason, publishedAt: now, activatesAt: step.activatesAt };
      const others =
        step.kind === 'create' && step.reason === 'emergency'
          ? state.keys.map((old): RotationKey => {
              if (old.status === 'active') return { ...old, status: 'unpublished', retiredAt: now, unpublishedAt: now };
              if (old.status === 'published' || old.status === 'retired') return { ...old, status: 'unpublished', unpublishedAt: now };
              return old;
            })
          : state.keys;
      return { keys: [...others, key] };
    }
    case 'bring-forward':
      return withKey(state, step.keyId, (key) => ({ ...key, activatesAt: step.activatesAt }));
    case 'activate': {
      const activated = withKey(state, step.keyId, (key) => ({ ...key, status: 'active', activatedAt: now }));
      return {
        keys: activated.keys.map((key) =>
          key.status === 'active' && key.keyId !== step.keyId ? { ...key, status: 'retired', retiredAt: now } : key,
        ),
      };
    }
    case 'unpublish':
      return withKey(state, step.keyId, (key) => ({ ...key, status: 'unpublished', unpublishedAt: now }));
    case 'schedule-deletion':
      return trimmed(withKey(state, step.keyId, (key) => ({ ...key, status: 'deletion-scheduled', deletionScheduledAt: now })));
  }
}
