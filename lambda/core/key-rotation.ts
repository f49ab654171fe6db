/**
 * Runs the rotation: reads the state, plans the next step (./key-rotation-plan.ts), does its side effect (create a
 * key, schedule a deletion), and writes the new state conditionally on the version it read, until nothing is left to
 * do. Safe to run anywhere at once and to rerun after a crash:
 * - two runners: one write wins; the other re-reads and sees the result (a key it created in vain was never
 *   published, so it schedules its deletion at once);
 * - a crash after creating a key and before writing leaves that key unpublished and unused (the rerun creates
 *   another: KMS has no idempotent CreateKey); a crash after scheduling a deletion and before writing: the rerun
 *   schedules it again, which the key service accepts.
 *
 * A state item that does not verify (lambda/core/authenticated-rotation-store.ts) stops every run: nothing is planned
 * from it and it is never rewritten, except by an emergency request, which replaces it with a new state holding one
 * new key, active at once, and trusts nothing the refused item names (none of its keys is published, activated or
 * deleted).
 */
import type { KeyRotationSettings } from '../../contract/broker-config';
import { EMPTY_ROTATION_STATE, RotationStateRejectedError, type RotationState } from '../../contract/key-rotation-state';
import { applyRotationStep, nextRotationStep, type NewKey, type PlanOptions, type RotationStep } from './key-rotation-plan';
import type { Clock, KeyRotationStore, Logger, SigningKeyService, VersionedRotationState } from './ports';

export interface KeyRotationDeps {
  readonly keys: SigningKeyService;
  readonly store: KeyRotationStore;
  readonly settings: KeyRotationSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The key the deployment signed with before rotation; adopted as the first active key. @default - a new key */
  readonly adoptableKeyId?: string;
}

/** Bound on steps per run: a bug guard (a run needs a handful). */
const MAX_STEPS = 20;

export interface RotationRun {
  /** The steps this run wrote, in order (another runner's steps are not listed). */
  readonly steps: readonly RotationStep[];
  readonly state: RotationState;
  readonly version: number;
}

/** The run did not settle within MAX_STEPS: a bug (the plan keeps asking for steps), never normal contention. */
export class RotationDidNotSettleError extends Error {
  readonly code = 'rotation_did_not_settle';
  constructor(steps: number) {
    super(`The key rotation did not settle after ${steps} steps; see the rotator's log for the steps it tried.`);
    this.name = 'RotationDidNotSettleError';
  }
}

/**
 * Brings the rotation state up to date at the clock's time, and fulfils `request` if given.
 * @throws what the key service or the store throws (the state stays consistent: every write is conditional)
 * @throws RotationStateRejectedError when the state item does not verify and the request is not an emergency
 * @throws RotationDidNotSettleError after MAX_STEPS steps
 */
export async function runKeyRotation(deps: KeyRotationDeps, options: Pick<PlanOptions, 'request'> = {}): Promise<RotationRun> {
  const steps: RotationStep[] = [];
  for (let attempt = 0; attempt < MAX_STEPS; attempt += 1) {
    let read: VersionedRotationState;
    try {
      read = await deps.store.read();
    } catch (error) {
      if (!(error instanceof RotationStateRejectedError && options.request?.kind === 'emergency')) throw error;
      const step = await recoverRefusedState(deps, error);
      if (step) steps.push(step);
      continue;
    }
    const { state, version } = read;
    const now = Math.floor(deps.clock() / 1000);
    const step = nextRotationStep(state, now, deps.settings, {
      ...options,
      ...(deps.adoptableKeyId !== undefined ? { adoptableKeyId: deps.adoptableKeyId } : {}),
    });
    if (!step) return { steps, state, version };

    let created: NewKey | undefined;
    if (step.kind === 'create') {
      const keyId = await deps.keys.createKey();
      created = { keyId, jwk: await deps.keys.publicKey(keyId) };
    } else if (step.kind === 'adopt') {
      created = { keyId: step.keyId, jwk: await deps.keys.publicKey(step.keyId) };
    } else if (step.kind === 'schedule-deletion') {
      await deps.keys.scheduleDeletion(step.keyId);
    }
    // The time of the write, not of the plan: creating a key takes a while (RSA generation, a KMS call), and a key is
    // published when the state that lists it is written. Rounded up, so the lead counts from no earlier than that.
    const writtenAt = Math.ceil(deps.clock() / 1000);
    const applied =
      step.kind === 'create' && (step.reason === 'schedule' || step.reason === 'requested')
        ? { ...step, activatesAt: Math.max(step.activatesAt, writtenAt + deps.settings.publishLeadSeconds) }
        : step;
    const written = await deps.store.write(applyRotationStep(state, applied, writtenAt, created), version);
    if (written) {
      steps.push(applied);
      deps.logger.info('key rotation step', {
        step: step.kind,
        keyId: created?.keyId ?? ('keyId' in step ? step.keyId : undefined),
        version: version + 1,
      });
      continue;
    }
    deps.logger.info('key rotation step lost to another rotator; re-reading', { step: step.kind, version });
    if (step.kind === 'create' && created) {
      // Never in any written state, so never published: nobody can depend on it.
      await deps.keys.scheduleDeletion(created.keyId);
    }
  }
  throw new RotationDidNotSettleError(MAX_STEPS);
}

/**
 * Replaces a refused state item with a new state of one new key, active at once (an emergency key). Keys the refused
 * item names are neither trusted nor deleted: they may not be the broker's (docs/key-rotation.md lists how to find and
 * delete the broker's own keys that no state names any more).
 * @returns the step written; undefined when the item changed meanwhile (the caller reads it again)
 */
async function recoverRefusedState(deps: KeyRotationDeps, refused: RotationStateRejectedError): Promise<RotationStep | undefined> {
  const keyId = await deps.keys.createKey();
  const created = { keyId, jwk: await deps.keys.publicKey(keyId) };
  const writtenAt = Math.ceil(deps.clock() / 1000);
  const step: RotationStep = { kind: 'create', reason: 'emergency', activatesAt: writtenAt };
  const version = await deps.store.replaceRefused(applyRotationStep(EMPTY_ROTATION_STATE, step, writtenAt, created), refused);
  if (version === undefined) {
    // Never in any written state, so never published.
    await deps.keys.scheduleDeletion(keyId);
    deps.logger.info('the refused key rotation state item changed before it was replaced; re-reading', { reason: refused.reason });
    return undefined;
  }
  deps.logger.warn('replaced the refused key rotation state item with a new state of one new key, active at once', {
    keyId,
    version,
    refusedVersion: refused.storedVersion,
    reason: refused.reason,
  });
  return step;
}

/** A key the state item names is not the key service's key of that id (or none the rotator may read). */
export class UnauthenticatedStateKeyError extends Error {
  readonly code = 'unauthenticated_state_key';
  constructor(keyId: string, why: string) {
    super(
      `The rotation state item written before the MAC names the key ${keyId}, ${why}: it is not adopted. See docs/key-rotation.md ("Upgrading to the authenticated state").`,
    );
    this.name = 'UnauthenticatedStateKeyError';
  }
}

/**
 * The upgrade of a state item written before the state had a MAC: adopted (MACed as it is) only if every key it names
 * that may still be published or sign is a key the rotator's key service holds under that id with that public half.
 * The rotator may read only this deployment's keys (its role's policy), so a key someone else made, or a public key
 * written into the item, fails the check. Keys whose deletion is scheduled are never published or used again and are
 * not checked (KMS refuses GetPublicKey for them).
 * @returns the adopted state; undefined when there was nothing to adopt (no item, or it has a MAC)
 * @throws UnauthenticatedStateKeyError naming the first key that fails the check (nothing is written)
 */
export async function adoptUnauthenticatedState(deps: KeyRotationDeps): Promise<VersionedRotationState | undefined> {
  return deps.store.adoptUnauthenticated(async (state) => {
    for (const key of state.keys) {
      if (key.status === 'deletion-scheduled') continue;
      let jwk;
      try {
        jwk = await deps.keys.publicKey(key.keyId);
      } catch (error) {
        throw new UnauthenticatedStateKeyError(
          key.keyId,
          `whose public key the rotator cannot read (${error instanceof Error ? error.name : 'error'})`,
        );
      }
      if (jwk.kid !== key.jwk.kid || jwk.n !== key.jwk.n || jwk.e !== key.jwk.e) {
        throw new UnauthenticatedStateKeyError(key.keyId, 'with a public key other than the key service holds under that id');
      }
    }
  });
}
