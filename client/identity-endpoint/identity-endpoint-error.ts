/** What can stop the identity endpoint from starting; its `code` is stable (the CLI's exit codes key on it). */
export type IdentityEndpointErrorCode =
  /** A bad option: broker URL, region, resource map, identity header or port; the message names it. */
  | 'invalid_argument'
  /** The port could not be bound (in use, or not allowed). */
  | 'listen_failed';

export class IdentityEndpointError extends Error {
  override readonly name = 'IdentityEndpointError';

  constructor(
    readonly code: IdentityEndpointErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
