import type { RotationItemStore, StoredRotationItem } from '../core/ports';

/** The rotation state item in this process's memory: the local runtime without DynamoDB, and tests. */
export class MemoryRotationStore implements RotationItemStore {
  private item: StoredRotationItem | undefined;

  async read(): Promise<StoredRotationItem | undefined> {
    // A copy, as a store would hand out: a caller's edits never reach the stored item.
    return this.item && { ...this.item, ...(this.item.mac ? { mac: new Uint8Array(this.item.mac) } : {}) };
  }

  async write(item: { version: number; stateJson: string; mac: Uint8Array }, expectedVersion: number): Promise<boolean> {
    if ((this.item?.version ?? 0) !== expectedVersion) return false;
    this.item = { version: item.version, stateJson: item.stateJson, mac: new Uint8Array(item.mac) };
    return true;
  }
}
