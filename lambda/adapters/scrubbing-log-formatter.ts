import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { scrub, scrubString } from './log-scrub';

/**
 * Powertools' standard JSON line (the keys and order of its own `PowertoolsLogFormatter`: level, message,
 * timestamp, service, cold_start, function_*, sampling_rate, xray_trace_id, then the line's own attributes),
 * with what a caller can put on a line scrubbed (log-scrub.ts): the message, and every attribute of the line —
 * secret-looking field names redacted, JWT-looking substrings replaced, errors included, at any depth. The rest
 * comes from Powertools and the Lambda context (names, ids, times) and is written as is.
 */
export class ScrubbingLogFormatter extends LogFormatter {
  /** Made once, not per line: the scrub turns errors into plain objects with Powertools' own error format. */
  private readonly formatErrorForScrub = (error: Error): unknown => this.formatError(error);

  override formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: scrubString(attributes.message),
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: context?.coldStart,
      function_arn: context?.invokedFunctionArn,
      function_memory_size: context?.memoryLimitInMB,
      function_name: context?.functionName,
      function_request_id: context?.awsRequestId,
      sampling_rate: attributes.sampleRateValue,
      xray_trace_id: attributes.xRayTraceId,
      tenant_id: context?.tenantId,
    };
    return new LogItem({ attributes: base }).addAttributes(scrub(additionalLogAttributes, this.formatErrorForScrub) as LogAttributes);
  }
}
