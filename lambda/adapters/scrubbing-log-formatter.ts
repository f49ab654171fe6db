import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { scrub } from './log-scrub';

/**
 * Powertools' standard JSON line (the keys and order of its own `PowertoolsLogFormatter`: level, message,
 * timestamp, service, cold_start, function_*, sampling_rate, xray_trace_id, then the line's own attributes),
 * with every attribute of every line scrubbed (log-scrub.ts): secret-looking field names redacted, JWT-looking
 * substrings replaced, errors included.
 */
export class ScrubbingLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
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
    const formatError = (error: Error) => this.formatError(error);
    return new LogItem({ attributes: scrub(base, formatError) as LogAttributes }).addAttributes(
      scrub(additionalLogAttributes, formatError) as LogAttributes,
    );
  }
}
