/**
 * Client assertions signed with whichever key the rotation state names active at the time: one read of the state per
 * assertion (cached, ./rotation-state-reader.ts; or a fixed state of one key, the local runtime's key file), so the
 * `kid` in the header and the key that signs are always the same key, even when the active key changes between two
 * concurrent assertions.
 */
import {
  activeKey,
  publishedKeys,
  RotationStateRejectedError,
  type PublishedJwk,
  type RotationState,
} from '../../contract/key-rotation-state';
import { createClientAssertion, type AssertionClaimsInput, type AssertionKey } from './assertion';
import { InternalError, UpstreamUnavailableError } from './errors';
import type { ClientAssertionSource, Clock, KeySigner, PublicKeySource, RotationStateSource } from './ports';

/** The key a deployment signed with before its rotation state existed (the stack's own key, until the rotator adopts it). */
export interface BootstrapKey {
  readonly keyId: string;
  /** Its public half, read once (KMS GetPublicKey). */
  readonly jwk: () => Promise<PublishedJwk>;
}

export interface RotatingAssertionDeps {
  readonly state: RotationStateSource;
  readonly signer: KeySigner;
  readonly clock: Clock;
  /** Used while the state holds no key. @default - no key: an assertion fails with `internal` until the rotation ran */
  readonly bootstrap?: BootstrapKey;
  /** @default crypto.randomUUID */
  readonly newJti?: () => string;
}

/** Assertions from the active key of the rotation state. */
export function rotatingAssertions(input: AssertionClaimsInput, deps: RotatingAssertionDeps): ClientAssertionSource {
  return {
    issuer: input.issuer,
    subject: input.subject,
    /**
     * @throws InternalError when the state holds no active key and there is no bootstrap key, or when the state item
     *   was refused and none was verified before (the broker then signs nothing)
     * @throws what reading the state or signing throws (UpstreamUnavailableError, InternalError)
     */
    create: async () => {
      let state: RotationState;
      try {
        state = await deps.state.current();
      } catch (error) {
        if (!(error instanceof RotationStateRejectedError)) throw error;
        throw new InternalError(`The broker signs nothing: ${error.message}`, { cause: error });
      }
      const active = activeKey(state);
      let key: AssertionKey;
      if (active) key = { keyId: active.keyId, kid: active.jwk.kid };
      else if (deps.bootstrap) key = { keyId: deps.bootstrap.keyId, kid: (await deps.bootstrap.jwk()).kid };
      else
        throw new InternalError(
          'No signing key is active yet: the key rotation has not run. Run `npx --no-install broker-keys rotate` or wait for the rotator.',
        );
      return createClientAssertion(input, {
        key,
        signer: deps.signer,
        clock: deps.clock,
        ...(deps.newJti ? { newJti: deps.newJti } : {}),
      });
    },
  };
}

/**
 * The JWKS from the rotation state (no key service call); while there is no state item (before the rotation first
 * ran), the keys the deployment published before rotation. A refused item is not "no item": with no state verified,
 * the JWKS fails (503) rather than publish anything.
 */
export function rotationPublicKeys(state: RotationStateSource, beforeRotation?: PublicKeySource): PublicKeySource {
  return {
    /** @throws UpstreamUnavailableError when the state item was refused and none was verified before */
    publicKeys: async () => {
      let current: RotationState;
      try {
        current = await state.current();
      } catch (error) {
        if (!(error instanceof RotationStateRejectedError)) throw error;
        // Public: the details are in the log line the refusal wrote, not in the answer.
        throw new UpstreamUnavailableError('dynamodb', 'The published keys cannot be read now. Retry later.', { cause: error });
      }
      const keys = publishedKeys(current).map((key) => key.jwk);
      if (keys.length > 0 || !beforeRotation) return keys;
      return beforeRotation.publicKeys();
    },
  };
}
