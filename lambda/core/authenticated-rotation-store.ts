/**
 * The rotation state as the broker trusts it: every read is verified against the item's MAC (the rotation state key,
 * which only the rotator may use to make MACs), every write carries a fresh MAC. An item that does not verify — no MAC,
 * a wrong one, an unusable version, or a version older than one this process already verified (an older item put
 * back, or the item deleted) — is refused: logged, counted, and never returned, so nobody plans from it, publishes
 * its keys or signs with them.
 */
import {
  EMPTY_ROTATION_STATE,
  isUsableStateVersion,
  parseRotationState,
  RotationStateRejectedError,
  rotationStateMacMessage,
  type RotationState,
  type RotationStateRejection,
} from '../../contract/key-rotation-state';
import type {
  BrokerMetrics,
  Clock,
  KeyRotationStore,
  Logger,
  RotationItemStore,
  StateAuthenticator,
  StoredRotationItem,
  VersionedRotationState,
} from './ports';

export interface AuthenticatedRotationStoreOptions {
  readonly items: RotationItemStore;
  readonly authenticator: StateAuthenticator;
  readonly logger: Logger;
  /** Counts each refusal (`rotationStateRejected`). */
  readonly metrics: BrokerMetrics;
  /** A recovery counts its version from the time (`replaceRefused`). */
  readonly clock: Clock;
}

/** The bytes of an item that decide whether it verifies: two items alike in these verify alike. */
const fingerprint = (item: StoredRotationItem): string =>
  JSON.stringify([item.version, item.stateJson, item.mac ? Buffer.from(item.mac).toString('base64') : null]);

export class AuthenticatedRotationStore implements KeyRotationStore {
  /** The highest version this process verified or wrote: an older one is a replay. */
  private highestVerified = 0;
  /** The last item verified, so that reading it again costs no key-service call. */
  private lastVerified: { fingerprint: string; state: RotationState; version: number } | undefined;
  /** The last item refused, so that reading it again refuses it without a key-service call. */
  private lastRefused: { fingerprint: string; reason: RotationStateRejection } | undefined;

  constructor(private readonly options: AuthenticatedRotationStoreOptions) {}

  /**
   * The stored state, verified.
   * @throws RotationStateRejectedError (after logging and counting it) for an item that does not verify
   * @throws UpstreamUnavailableError when the store or the key service is unavailable; RotationStateError for a
   *   verified item this version cannot parse
   */
  async read(): Promise<VersionedRotationState> {
    const item = await this.options.items.read();
    if (item === undefined) {
      if (this.highestVerified > 0) throw this.refuse('deleted', 0);
      return { state: EMPTY_ROTATION_STATE, version: 0 };
    }
    const seen = fingerprint(item);
    if (this.lastVerified?.fingerprint === seen) return { state: this.lastVerified.state, version: this.lastVerified.version };
    if (this.lastRefused?.fingerprint === seen) throw this.refuse(this.lastRefused.reason, item.version, seen);
    if (!isUsableStateVersion(item.version) || item.stateJson === undefined) throw this.refuse('malformed', undefined, seen);
    if (item.mac === undefined || item.mac.length === 0) throw this.refuse('no-mac', item.version, seen);
    const verified = await this.options.authenticator.verify(rotationStateMacMessage(item.version, item.stateJson), item.mac);
    if (!verified) throw this.refuse('mac-mismatch', item.version, seen);
    if (item.version < this.highestVerified) throw this.refuse('replayed', item.version, seen);
    const state = parseRotationState(item.stateJson);
    this.remember(seen, state, item.version);
    return { state, version: item.version };
  }

  /**
   * Stores `state` as version `expectedVersion + 1` with its MAC, conditionally.
   * @throws UpstreamUnavailableError, or what the authenticator throws (it may not make MACs: only the rotator may)
   */
  async write(state: RotationState, expectedVersion: number): Promise<boolean> {
    return (await this.put(state, expectedVersion + 1, expectedVersion)) !== undefined;
  }

  /**
   * Replaces the refused item with `state`. The new version is above the refused item's, above any this process
   * verified, and at least the current unix time: versions otherwise count the rotation's steps (a few per interval),
   * so a process anywhere that verified a newer state than a replayed one also takes the recovered state as newer.
   */
  async replaceRefused(state: RotationState, refused: RotationStateRejectedError): Promise<number | undefined> {
    const stored = refused.storedVersion;
    if (stored === undefined) {
      throw new Error(
        'The refused key rotation state item holds no usable version to replace it on: delete the item (partition key "key-rotation#state") and run the emergency rotation again.',
      );
    }
    const version = Math.max(stored, this.highestVerified, Math.floor(this.options.clock() / 1000)) + 1;
    return this.put(state, version, stored);
  }

  /**
   * Gives a MAC to a state item written before the state had one: the upgrade of a deployment whose rotator ran
   * before this version. Only on an operator's request (`broker-keys migrate`), and only once `check` has accepted
   * every key the item names; the item is otherwise left as it is.
   */
  async adoptUnauthenticated(check: (state: RotationState) => Promise<void>): Promise<VersionedRotationState | undefined> {
    const item = await this.options.items.read();
    if (item === undefined || (item.mac !== undefined && item.mac.length > 0)) return undefined;
    if (!isUsableStateVersion(item.version) || item.stateJson === undefined) throw this.refuse('malformed', undefined);
    const state = parseRotationState(item.stateJson);
    await check(state);
    const version = await this.put(state, item.version + 1, item.version);
    return version === undefined ? undefined : { state, version };
  }

  private async put(state: RotationState, version: number, expectedVersion: number): Promise<number | undefined> {
    const stateJson = JSON.stringify(state);
    const mac = await this.options.authenticator.mac(rotationStateMacMessage(version, stateJson));
    if (!(await this.options.items.write({ version, stateJson, mac }, expectedVersion))) return undefined;
    this.remember(fingerprint({ version, stateJson, mac }), state, version);
    return version;
  }

  private remember(seen: string, state: RotationState, version: number): void {
    this.lastVerified = { fingerprint: seen, state, version };
    this.lastRefused = undefined;
    this.highestVerified = Math.max(this.highestVerified, version);
  }

  /** Logs and counts a refusal (the version and why, never what the item holds), and returns the error to throw. */
  private refuse(reason: RotationStateRejection, storedVersion: number | undefined, seen?: string): RotationStateRejectedError {
    if (seen !== undefined) this.lastRefused = { fingerprint: seen, reason };
    const error = new RotationStateRejectedError(reason, storedVersion);
    this.options.metrics.count('rotationStateRejected');
    this.options.logger.warn('refused the key rotation state item: it was not written by the broker, its keys are not used', {
      reason,
      version: storedVersion,
      highestVerifiedVersion: this.highestVerified,
    });
    return error;
  }
}
