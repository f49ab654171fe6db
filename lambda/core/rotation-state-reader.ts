/**
 * How the token and JWKS functions read the rotation state: from the store, kept for a short while per container, so
 * an exchange costs no extra read most of the time and a key change still reaches every container soon.
 *
 * The time a reader keeps the state, and the time the JWKS may be cached downstream (`Cache-Control`), both come out
 * of the publish lead: a key is visible to Entra at most `lead/5 + lead/10` after it is published, well inside the
 * lead it must wait before signing. An old state kept for `lead/5` only delays the switch to a new key; the previous key
 * stays published `retireAfterSeconds` (≥ the assertion lifetime), far longer than a reader keeps the state.
 */
import type { KeyRotationSettings } from '../../contract/broker-config';
import { RotationStateRejectedError, type RotationState } from '../../contract/key-rotation-state';
import type { Clock, KeyRotationStore, Logger, RotationStateSource } from './ports';

/** Seconds a reader keeps the state: a fifth of the shorter of the lead and the retire time, from 1 to 60. */
export function stateCacheSeconds(settings: KeyRotationSettings): number {
  return Math.min(60, Math.max(1, Math.floor(Math.min(settings.publishLeadSeconds, settings.retireAfterSeconds) / 5)));
}

/** The JWKS's `Cache-Control`: a tenth of the lead, at most an hour (the discovery document's). */
export function jwksCacheControl(settings: KeyRotationSettings): string {
  return `public, max-age=${String(Math.min(3600, Math.floor(settings.publishLeadSeconds / 10)))}`;
}

export interface RotationStateReaderOptions {
  readonly store: KeyRotationStore;
  readonly clock: Clock;
  /** How long a read state is used before reading again. */
  readonly maxAgeMs: number;
  readonly logger: Logger;
}

/**
 * The rotation state, read (and verified: the store is an AuthenticatedRotationStore) at most once per `maxAgeMs`;
 * concurrent callers share one read.
 */
export class RotationStateReader implements RotationStateSource {
  /** The last verified state; `readAtMs` is when it was last read or kept after a failed read. */
  private cached: { state: RotationState; readAtMs: number; verifiedAtMs: number } | undefined;
  private inFlight: Promise<RotationState> | undefined;

  constructor(private readonly options: RotationStateReaderOptions) {}

  /**
   * The state, fresh within `maxAgeMs`. When a read fails or the item is refused and a state was verified before, that
   * one is used for another `maxAgeMs` (its keys stay published `retireAfterSeconds` after they stop signing); a
   * refused item is never used.
   * @throws what the store throws when nothing was verified yet (RotationStateRejectedError, UpstreamUnavailableError,
   *   RotationStateError)
   */
  async current(): Promise<RotationState> {
    const now = this.options.clock();
    if (this.cached && now - this.cached.readAtMs < this.options.maxAgeMs) return this.cached.state;
    this.inFlight ??= this.read(now).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(now: number): Promise<RotationState> {
    try {
      const { state } = await this.options.store.read();
      this.cached = { state, readAtMs: now, verifiedAtMs: now };
      return state;
    } catch (error) {
      if (!this.cached) throw error;
      // A refusal was logged and counted by the store; a failure to read is logged here.
      if (!(error instanceof RotationStateRejectedError)) {
        this.options.logger.warn('could not read the key rotation state; using the last one verified', {
          error: error instanceof Error ? error.name : 'unknown',
          ageMs: now - this.cached.verifiedAtMs,
        });
      }
      // Read again after maxAgeMs, not on every request meanwhile.
      this.cached = { ...this.cached, readAtMs: now };
      return this.cached.state;
    }
  }
}
