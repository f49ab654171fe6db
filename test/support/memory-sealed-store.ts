/** A SealedTokenStore in a Map (leases from MemoryTokenStore), for unit tests of sealing: the table an attacker edits. */
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import type { Clock, SealedTokenStore } from '../../lambda/core/ports';

export class MemorySealedStore implements SealedTokenStore {
  /** The items as stored: tests read, swap and edit them as someone with table access would. */
  readonly items = new Map<string, { sealed: Uint8Array; expiresOn: number }>();
  private readonly leases: MemoryTokenStore;

  constructor(clock: Clock = Date.now) {
    this.leases = new MemoryTokenStore({ clock });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const item = this.items.get(key);
    return item && new Uint8Array(item.sealed);
  }

  async put(key: string, sealed: Uint8Array, expiresOn: number): Promise<void> {
    this.items.set(key, { sealed: new Uint8Array(sealed), expiresOn });
  }

  tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean> {
    return this.leases.tryAcquireLease(key, holder, expiresAtMs);
  }

  releaseLease(key: string, holder: string): Promise<void> {
    return this.leases.releaseLease(key, holder);
  }
}
