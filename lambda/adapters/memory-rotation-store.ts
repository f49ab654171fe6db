import { EMPTY_ROTATION_STATE, type RotationState } from '../../contract/key-rotation-state';
import type { KeyRotationStore, VersionedRotationState } from '../core/ports';

/** The rotation state in this process's memory: the local runtime without DynamoDB, and tests. */
export class MemoryRotationStore implements KeyRotationStore {
  private current: VersionedRotationState = { state: EMPTY_ROTATION_STATE, version: 0 };

  async read(): Promise<VersionedRotationState> {
    // A copy, as a store would hand out: a caller's edits never reach the stored state.
    return structuredClone(this.current);
  }

  async write(state: RotationState, expectedVersion: number): Promise<boolean> {
    if (this.current.version !== expectedVersion) return false;
    this.current = { state: structuredClone(state), version: expectedVersion + 1 };
    return true;
  }
}
