/**
 * The event the proactive-refresh schedule invokes the token function with (an EventBridge rule's constant input),
 * and the local runtime's timer hands the same handler. Its shape is distinct from any API Gateway event: exactly one
 * field, with this value, so the token function's direct-invocation tripwire tells it apart and refuses anything else
 * that did not come through the API. A forged one can do no more than the schedule does: refresh what is due anyway.
 */

/** The one field of a refresh event. */
export const REFRESH_EVENT_FIELD = 'brokerEvent';
/** Its value. */
export const REFRESH_EVENT_KIND = 'aws-azure-token-broker/proactive-refresh';

export interface RefreshEvent {
  readonly [REFRESH_EVENT_FIELD]: typeof REFRESH_EVENT_KIND;
}

/** The refresh event, exactly as the schedule sends it. */
export const REFRESH_EVENT: RefreshEvent = { [REFRESH_EVENT_FIELD]: REFRESH_EVENT_KIND };

/** True for a refresh event: an object with exactly the one field and value, nothing more. */
export function isRefreshEvent(event: unknown): event is RefreshEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const keys = Object.keys(event);
  return (
    keys.length === 1 && keys[0] === REFRESH_EVENT_FIELD && (event as Record<string, unknown>)[REFRESH_EVENT_FIELD] === REFRESH_EVENT_KIND
  );
}
