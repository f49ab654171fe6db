/**
 * The audit trail: who obtained which token (caller ARN and account; Entra's `uti` and the exchange's correlation
 * id), through which request (API Gateway's request id; Lambda's on the line, as on every line), from which cache
 * tier — never the token. One `token served` line per request, memory hits included, written by Powertools'
 * `logger.info` (docs/operations-audit.md).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { TokenAudit, TokenServed } from '../core/ports';

/** The message of every audit line: what the queries in docs/operations-audit.md filter on. */
export const TOKEN_SERVED_MESSAGE = 'token served';

/**
 * Writes the audit line through a logger whose level is pinned to INFO (createTokenObservability), whatever the
 * function's log level: the audit trail is not a diagnostic an operator turns down.
 */
export class TokenAuditLog implements TokenAudit {
  constructor(private readonly logger: Logger) {}

  tokenServed(served: TokenServed): void {
    const { token } = served;
    this.logger.info(TOKEN_SERVED_MESSAGE, {
      alias: served.alias,
      uti: token.uti,
      entraCorrelationId: token.correlationId,
      expiresOn: token.expiresOn,
      cache: served.cache,
      // Empty when nobody was verified (the local runtime's open mode): left out, as Powertools leaves out undefined.
      callerArn: served.callerArn || undefined,
      callerAccount: served.callerAccount || undefined,
      apiRequestId: served.apiRequestId || undefined,
      durationMs: served.durationMs,
    });
  }
}
