/**
 * The rotation state as the broker keeps it, for tests: an AuthenticatedRotationStore (real HMAC-SHA-256, a fresh
 * random key per store) over an item store that a test can also write as an attacker with `dynamodb:PutItem` would
 * (any item, any MAC or none), and that records the refusals the store logs and counts.
 */
import { randomBytes } from 'node:crypto';
import { LocalStateAuthenticator } from '../../lambda/adapters/local-state-authenticator';
import { AuthenticatedRotationStore } from '../../lambda/core/authenticated-rotation-store';
import type { BrokerMetrics, Clock, Logger, RotationItemStore, StateAuthenticator, StoredRotationItem } from '../../lambda/core/ports';

/** A RotationItemStore in memory with the same conditional writes, plus `put` for what an attacker would write. */
export class ForgeableItemStore implements RotationItemStore {
  item: StoredRotationItem | undefined;

  async read(): Promise<StoredRotationItem | undefined> {
    return this.item && { ...this.item, ...(this.item.mac ? { mac: new Uint8Array(this.item.mac) } : {}) };
  }

  async write(item: { version: number; stateJson: string; mac: Uint8Array }, expectedVersion: number): Promise<boolean> {
    if ((this.item?.version ?? 0) !== expectedVersion) return false;
    this.item = { ...item, mac: new Uint8Array(item.mac) };
    return true;
  }

  /** Overwrites the item unconditionally (or deletes it), as anyone with write access to the table could. */
  put(item: StoredRotationItem | undefined): void {
    this.item = item;
  }
}

export interface RotationStoreWorld {
  readonly items: ForgeableItemStore;
  readonly authenticator: StateAuthenticator;
  readonly store: AuthenticatedRotationStore;
  /** Another process's store on the same items and key (a reader beside the rotator). */
  readonly another: () => AuthenticatedRotationStore;
  /** The refusals logged, as `{reason, version}`. */
  readonly refusals: Array<Record<string, unknown>>;
  /** How many times `rotationStateRejected` was counted. */
  readonly rejectedCount: () => number;
}

/** A fresh item store and key, and an authenticated store on them. */
export function rotationStoreWorld(
  options: { clock?: Clock; items?: ForgeableItemStore; authenticator?: StateAuthenticator } = {},
): RotationStoreWorld {
  const items = options.items ?? new ForgeableItemStore();
  const authenticator = options.authenticator ?? new LocalStateAuthenticator(randomBytes(32));
  const refusals: Array<Record<string, unknown>> = [];
  let rejected = 0;
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => {
      if (message.startsWith('refused the key rotation state item')) refusals.push(fields ?? {});
    },
    error: () => undefined,
  };
  const metrics: BrokerMetrics = {
    count: (event) => {
      if (event === 'rotationStateRejected') rejected += 1;
    },
  };
  const make = () => new AuthenticatedRotationStore({ items, authenticator, logger, metrics, clock: options.clock ?? Date.now });
  return { items, authenticator, store: make(), another: make, refusals, rejectedCount: () => rejected };
}
