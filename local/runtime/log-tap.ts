/**
 * The broker's log lines, as Lambda would collect them, diverted inside this process: Powertools writes every line
 * (log lines and EMF metric lines, one JSON object each) to the process's stdout or stderr, as a deployed function
 * must; a process that runs the broker in-process and wants those lines (the demo, tests) taps the two streams.
 * Whatever else is written passes through unchanged.
 */

/** A Powertools log line (`level`) or an EMF line (`_aws`): one JSON object on one line. */
export function isLogLine(line: string): boolean {
  if (!line.startsWith('{') || !line.endsWith('}')) return false;
  // Parsing is the costly part (`npm start` taps every line, one per request): a line without either key is not one.
  if (!line.includes('"level"') && !line.includes('"_aws"')) return false;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return typeof parsed.level === 'string' || '_aws' in parsed;
  } catch {
    return false;
  }
}

/** The active taps, newest last: the newest receives the lines. */
const taps: Array<(line: string) => void> = [];
/** Puts the streams back; set while any tap is active. */
let uninstall: (() => void) | undefined;

function install(): () => void {
  const restores = [process.stdout, process.stderr].map((stream) => {
    const original = stream.write.bind(stream);
    const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const kept = text.split('\n').filter((line) => {
        const tap = taps.at(-1);
        if (!tap || !isLogLine(line)) return true;
        tap(line);
        return false;
      });
      const remaining = kept.join('\n');
      if (remaining === '') {
        const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
        callback?.();
        return true;
      }
      return (original as (...args: unknown[]) => boolean)(remaining === text ? chunk : remaining, ...rest);
    };
    stream.write = write;
    return () => {
      stream.write = original;
    };
  });
  return () => {
    for (const restore of restores) restore();
  };
}

/**
 * Sends every log line written to stdout or stderr to `onLine` (without its newline) instead of the stream, until
 * the returned function is called. Taps may overlap: the newest one active receives the lines; they may end in any
 * order.
 */
export function tapLogLines(onLine: (line: string) => void): () => void {
  const tap = (line: string) => {
    onLine(line);
  };
  taps.push(tap);
  uninstall ??= install();
  return () => {
    const index = taps.indexOf(tap);
    if (index !== -1) taps.splice(index, 1);
    if (taps.length === 0 && uninstall) {
      uninstall();
      uninstall = undefined;
    }
  };
}
