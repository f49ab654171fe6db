/**
 * The key rotator: runs on the EventBridge schedule (any event without `action`), or when `broker-keys rotate` or
 * `broker-keys migrate` invokes it with `{"action": "rotate" | "emergency" | "migrate", "requestedAt": unix seconds}`.
 * Answers the state after the run.
 */
import middy from '@middy/core';
import { activeKey, type RotationKey } from '../../contract/key-rotation-state';
import { isPlainObject } from '../../contract/config-error';
import { isRotatorAction } from '../../contract/rotator-event';
import { adoptUnauthenticatedState, runKeyRotation, type KeyRotationDeps } from '../core/key-rotation';
import type { RotationRequest } from '../core/key-rotation-plan';
import type { Logger, RotatorMetrics } from '../core/ports';

export interface RotatorHandlerDeps {
  readonly rotation: KeyRotationDeps;
  readonly metrics: RotatorMetrics;
  readonly logger: Logger;
}

export interface RotatorResult {
  readonly version: number;
  /** The steps this run wrote, by kind. */
  readonly steps: readonly string[];
  readonly keys: readonly Omit<RotationKey, 'jwk'>[];
  /** For `emergency`: what it costs (docs/key-rotation.md). */
  readonly note?: string;
}

/** An invocation event the rotator does not understand; nothing was changed. */
export class RotatorEventError extends Error {
  readonly code = 'invalid_rotator_event';
  constructor(problem: string) {
    super(
      `Rotator event: ${problem}. Send {"action": "rotate" | "emergency" | "migrate", "requestedAt": <unix seconds>}, or nothing (a scheduled run).`,
    );
    this.name = 'RotatorEventError';
  }
}

export const EMERGENCY_NOTE =
  'Emergency rotation: the previous keys left the JWKS at once. Until Entra ID refetches the JWKS, exchanges signed with the new key may fail with AADSTS7000272; callers that retry will succeed once it has.';

/** A rotation asked for, or `migrate`: adopt a state item written before the state had a MAC (an upgrade). */
export type RotatorRequest = RotationRequest | { readonly kind: 'migrate'; readonly requestedAt: number };

/**
 * The request an invocation carries, if any.
 * @throws RotatorEventError for an unknown action or a requestedAt that is not unix seconds in the past hour or the next minute
 */
export function rotationRequestOf(event: unknown, nowSeconds: number): RotatorRequest | undefined {
  if (!isPlainObject(event) || event.action === undefined) return undefined;
  const { action, requestedAt } = event;
  if (!isRotatorAction(action)) {
    throw new RotatorEventError(`unknown action ${JSON.stringify(action)}`);
  }
  const at = requestedAt ?? nowSeconds;
  // A request replayed much later must not rotate again; a clock a little ahead is tolerated.
  if (typeof at !== 'number' || !Number.isInteger(at) || at < nowSeconds - 3_600 || at > nowSeconds + 60) {
    throw new RotatorEventError(`requestedAt must be unix seconds within the last hour, received ${JSON.stringify(at)}`);
  }
  return { kind: action, requestedAt: at };
}

/** The rotator's handler. */
export function createRotatorHandler(deps: RotatorHandlerDeps) {
  return middy<unknown, RotatorResult>(async (event: unknown) => {
    const { rotation, metrics, logger } = deps;
    const now = Math.floor(rotation.clock() / 1000);
    try {
      const request = rotationRequestOf(event, now);
      if (request?.kind === 'migrate') {
        const adopted = await adoptUnauthenticatedState(rotation);
        logger.warn(adopted ? 'adopted the rotation state item written before the MAC' : 'no rotation state item without a MAC to adopt', {
          version: adopted?.version,
        });
      }
      const run = await runKeyRotation(rotation, request && request.kind !== 'migrate' ? { request } : {});
      const active = activeKey(run.state);
      if (active?.activatedAt !== undefined) metrics.activeKeyAge(Math.max(0, now - active.activatedAt));
      logger.info('key rotation run', { steps: run.steps.map((step) => step.kind), version: run.version, activeKeyId: active?.keyId });
      return {
        version: run.version,
        steps: run.steps.map((step) => step.kind),
        keys: run.state.keys.map(({ jwk: _jwk, ...key }) => key),
        ...(request?.kind === 'emergency' ? { note: EMERGENCY_NOTE } : {}),
      };
    } catch (error) {
      metrics.count('keyRotationFailures');
      logger.error('key rotation run failed', {
        error: error instanceof Error ? error.name : 'unknown',
        code: (error as { code?: unknown }).code,
      });
      throw error;
    }
  });
}
