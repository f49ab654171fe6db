/**
 * The lines the broker's Powertools logger and metrics write to stdout and stderr (what CloudWatch would receive),
 * collected instead of printed while a test runs: the production wiring, with a sink at the end of the process's
 * streams (local/runtime/log-tap.ts). Must be called inside a test or a hook; the streams are restored after it.
 */
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { tapLogLines } from '../../local/runtime/log-tap';

export type LogEntry = Record<string, unknown>;

export interface CapturedLogs {
  /** Every line, log and metric, in the order written. */
  readonly lines: string[];
  /** The log lines (not EMF), parsed. */
  entries(): LogEntry[];
  /** The EMF metric lines, parsed. */
  metricEntries(): LogEntry[];
  /** The metric lines, as written. */
  metricLines(): string[];
  /** Forgets what was collected so far. */
  clear(): void;
}

function collected(): CapturedLogs {
  const lines: string[] = [];
  const parsed = () => lines.map((line) => JSON.parse(line) as LogEntry);
  return {
    lines,
    entries: () => parsed().filter((entry) => !('_aws' in entry)),
    metricEntries: () => parsed().filter((entry) => '_aws' in entry),
    metricLines: () => lines.filter((line) => line.includes('"_aws"')),
    clear: () => void lines.splice(0),
  };
}

/** Collects the broker's lines until the current test ends. Call it inside a test. */
export function captureLogs(): CapturedLogs {
  const logs = collected();
  onTestFinished(tapLogLines((line) => logs.lines.push(line)));
  return logs;
}

/**
 * Collects the broker's lines from before the first test of the file (or describe block) to after the last: for
 * brokers started in `beforeAll`. Call it at the top of the file or the block, not in a test.
 */
export function captureLogsForFile(): CapturedLogs {
  const logs = collected();
  let restore: (() => void) | undefined;
  beforeAll(() => {
    restore = tapLogLines((line) => logs.lines.push(line));
  });
  afterAll(() => restore?.());
  return logs;
}
