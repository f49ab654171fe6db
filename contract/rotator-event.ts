/**
 * What `broker-keys` sends the key rotator when it invokes it (the schedule sends an event without `action`).
 * `requestedAt` bounds a replay: the rotator refuses one more than an hour old.
 */
export const ROTATOR_ACTIONS = ['rotate', 'emergency', 'migrate'] as const;

export type RotatorAction = (typeof ROTATOR_ACTIONS)[number];

export interface RotatorEvent {
  readonly action: RotatorAction;
  /** Unix seconds; the rotator takes its own clock when absent. */
  readonly requestedAt?: number;
}

export function isRotatorAction(value: unknown): value is RotatorAction {
  return (ROTATOR_ACTIONS as readonly unknown[]).includes(value);
}
