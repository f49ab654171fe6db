/**
 * Starts and stops DynamoDB Local (the official jar, see ./jar.ts) for tests, CI, the demo and the local runtime,
 * listening on 127.0.0.1 only (through ./LoopbackDynamoDbLocal.java, compiled once when a JDK is there).
 */
import { execFile, spawn, type ChildProcess, type ExecFileException } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from '../free-port';
import { DYNAMODB_LOCAL_JAR, defaultDynamoDbLocalDir, ensureDynamoDbLocal } from './jar';

/** The oldest Java that runs DynamoDB Local. */
export const MIN_JAVA_VERSION = 17;
/** How to get Java on Debian/Ubuntu, said whenever it is missing or too old. */
export const JAVA_INSTALL_EXAMPLE = 'apt-get install -y default-jre-headless';
// Bounds `java -version`; a JVM that does not answer by then is left to the launch to judge.
const JAVA_VERSION_TIMEOUT_MS = 30_000;
// Only bounds a JVM that runs but never answers (a crash is noticed at once): generous, because a
// loaded CI machine can take well over 10 s to start it.
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const BIND_FAILURE = /BindException|Failed to bind/;
const JAVAC_TIMEOUT_MS = 120_000;

/** The launcher's source and its main class. */
const LAUNCHER_SOURCE = fileURLToPath(new URL('./LoopbackDynamoDbLocal.java', import.meta.url));
const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
/** Where compiled launchers are kept, one folder per source and jar (git-ignored). */
const LAUNCHER_CACHE = fileURLToPath(new URL('../../.cache/dynamodb-local-launcher/', import.meta.url));

export interface DynamoDbLocalOptions {
  /**
   * TCP port on 127.0.0.1; 0 or absent = a free port, chosen once and kept across restarts. DynamoDB Local 1.25
   * has no host option (its Jetty binds 0.0.0.0) and accepts any credentials, so it is started through a small
   * launcher that binds 127.0.0.1; without a JDK to compile it, it falls back to the jar's own main class, with a warning.
   */
  readonly port?: number;
  /** Directory for the database file (kept across restarts); absent = in memory. Created if missing. */
  readonly dbPath?: string;
  /** Directory holding DynamoDBLocal.jar; absent = {@link ensureDynamoDbLocal}() (downloads if needed). */
  readonly jarDir?: string;
  /** Java executable; default `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH. */
  readonly java?: string;
  /** How long to wait for the first answer; default 60 s. */
  readonly startTimeoutMs?: number;
  /** Called when the process exits without stop() having been called (e.g. it crashed or was killed). */
  readonly onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** Where the one warning line goes when it cannot listen on 127.0.0.1 only. @default stderr */
  readonly warn?: (line: string) => void;
  /** Where the compiled loopback launcher is kept. @default - `<repo>/.cache/dynamodb-local-launcher` */
  readonly launcherCacheDir?: string;
}

/** A running (or stopped, restartable) DynamoDB Local, reached through 127.0.0.1. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** True when it listens on 127.0.0.1 only; false when it fell back to every interface (no JDK). */
  readonly loopbackOnly: boolean;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. No-op when stopped. */
  stop(): Promise<void>;
  /** Starts again on the same port and dbPath (for fault tests); no-op when running. Throws like startDynamoDbLocal. */
  start(): Promise<void>;
}

/** DynamoDB Local cannot run here: `java` is missing, or older than {@link MIN_JAVA_VERSION}. */
export class JavaMissingError extends Error {
  readonly code = 'JAVA_MISSING';
  /**
   * @param java the executable tried
   * @param found what was found instead, e.g. `was not found`, `is Java 11`
   */
  constructor(
    readonly java: string,
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(`DynamoDB Local needs Java ${MIN_JAVA_VERSION}+, and "${java}" ${found}: install it (e.g. ${JAVA_INSTALL_EXAMPLE})`, options);
    this.name = 'JavaMissingError';
  }
}

/** The Java executable: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from PATH. */
export function javaExecutable(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * Checks, from its `java -version` banner, that `java` runs and is recent enough for DynamoDB Local.
 * A banner it cannot read (or no answer within 30 s) is let through: the launch then says what is wrong.
 * @throws JavaMissingError when `java` cannot be run or reports a version older than {@link MIN_JAVA_VERSION}
 */
export async function requireJava(java: string = javaExecutable()): Promise<void> {
  const { error, banner } = await new Promise<{ error: ExecFileException | null; banner: string }>((resolve) => {
    execFile(java, ['-version'], { timeout: JAVA_VERSION_TIMEOUT_MS }, (failure, stdout, stderr) => {
      resolve({ error: failure, banner: `${stderr}${stdout}` });
    });
  });
  if (error?.code === 'ENOENT') throw new JavaMissingError(java, 'was not found', { cause: error });
  if (error?.code === 'EACCES') throw new JavaMissingError(java, 'is not executable', { cause: error });
  const major = javaMajorVersion(banner);
  if (major !== undefined && major < MIN_JAVA_VERSION) throw new JavaMissingError(java, `is Java ${major}`);
}

/** The major version in a `java -version` banner (`"1.8.0_392"` → 8, `"17.0.15"` → 17, `"21"` → 21); undefined when there is none. */
export function javaMajorVersion(banner: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** `javac` beside `java` (same JDK), or from PATH when `java` is. */
export function javacBeside(java: string): string {
  return path.basename(java) === java ? 'javac' : path.join(path.dirname(java), 'javac');
}

/**
 * Compiles ./LoopbackDynamoDbLocal.java against the jar once (cached per source and jar; atomic, so processes
 * starting together agree).
 * @returns the folder holding the class, or why there is none (no javac, or it failed)
 */
export async function loopbackLauncher(
  jarDir: string,
  java: string,
  cacheDir: string = LAUNCHER_CACHE,
): Promise<{ classDir: string } | { problem: string }> {
  const jar = path.join(jarDir, DYNAMODB_LOCAL_JAR);
  const source = readFileSync(LAUNCHER_SOURCE);
  const hash = createHash('sha256').update(source).update(jar).update(String(MIN_JAVA_VERSION)).digest('hex').slice(0, 16);
  const classDir = path.join(cacheDir, hash);
  if (existsSync(path.join(classDir, `${LAUNCHER_CLASS}.class`))) return { classDir };
  await mkdir(cacheDir, { recursive: true });
  const staging = await mkdtemp(path.join(cacheDir, `.${hash}.tmp-`));
  try {
    const javac = javacBeside(java);
    const classPath = [jar, path.join(jarDir, 'DynamoDBLocal_lib', '*')].join(path.delimiter);
    const failure = await new Promise<string | undefined>((resolve) => {
      execFile(
        javac,
        ['--release', String(MIN_JAVA_VERSION), '-cp', classPath, '-d', staging, LAUNCHER_SOURCE],
        { timeout: JAVAC_TIMEOUT_MS },
        (error, _stdout, stderr) => {
          if (!error) resolve(undefined);
          else if (error.code === 'ENOENT') resolve(`no "${javac}" (a JDK) to compile its launcher`);
          else resolve(`"${javac}" failed to compile its launcher: ${stderr.trim().split('\n').slice(-3).join(' ') || error.message}`);
        },
      );
    });
    if (failure) return { problem: failure };
    try {
      await rename(staging, classDir);
    } catch (error) {
      if (!existsSync(path.join(classDir, `${LAUNCHER_CLASS}.class`))) throw error; // another process won the race otherwise
    }
    return { classDir };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Starts DynamoDB Local (`-sharedDb`, telemetry off) on 127.0.0.1 and waits until it answers ListTables. When the jar
 * has to be downloaded first, Java is checked before the download.
 * @throws JavaMissingError when Java is missing or too old
 * @throws Error when the jar directory has no DynamoDBLocal.jar, or it does not answer within the start
 *   timeout (the message carries its last output lines)
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = options.java ?? javaExecutable();
  // No 57 MB download for a machine that cannot run it.
  if (options.jarDir === undefined && !existsSync(path.join(defaultDynamoDbLocalDir, DYNAMODB_LOCAL_JAR))) await requireJava(java);
  const jarDir = path.resolve(options.jarDir ?? (await ensureDynamoDbLocal()));
  if (!existsSync(path.join(jarDir, DYNAMODB_LOCAL_JAR))) {
    throw new Error(
      `DynamoDB Local jar not found: ${path.join(jarDir, DYNAMODB_LOCAL_JAR)} does not exist. ` +
        `Run "npx tsx local/dynamodb-local/main.ts fetch" to download it.`,
    );
  }
  const launcher = await loopbackLauncher(jarDir, java, options.launcherCacheDir);
  const loopbackOnly = 'classDir' in launcher;
  if (!loopbackOnly) {
    (options.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `warning: DynamoDB Local listens on every interface (0.0.0.0), reachable from the network: ${launcher.problem}. Install a JDK (e.g. apt-get install -y default-jdk-headless) to keep it on 127.0.0.1.`,
    );
  }
  const dbPath = options.dbPath === undefined ? undefined : path.resolve(options.dbPath);
  if (dbPath) await mkdir(dbPath, { recursive: true });
  const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const pickPort = !options.port;
  let port = options.port || (await freePort());

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;

  const launch = async (): Promise<void> => {
    // C1-only JIT and the serial GC: a test database needs fast start-up far more than peak throughput
    // (measured on a loaded 2-CPU machine: about 6 s instead of 10-20 s).
    const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
    const jar = path.join(jarDir, DYNAMODB_LOCAL_JAR);
    const main = 'classDir' in launcher ? ['-cp', [jar, launcher.classDir].join(path.delimiter), LAUNCHER_CLASS] : ['-jar', jar];
    const args = [...jvm, `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`, ...main];
    args.push('-port', String(port), ...(dbPath ? ['-dbPath', dbPath] : ['-inMemory']), '-sharedDb', '-disableTelemetry');
    const proc = spawn(java, args, { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = tail(40);
    // Jetty logs a bind failure but the JVM keeps running (non-daemon threads): notice it in the output.
    let onBindFailure: () => void = () => undefined;
    const bindFailed = new Promise<'bind failed'>((resolve) => (onBindFailure = () => resolve('bind failed')));
    const onOutput = (chunk: Buffer): void => {
      output.push(chunk);
      if (BIND_FAILURE.test(output.text())) onBindFailure();
    };
    proc.stdout.on('data', onOutput);
    proc.stderr.on('data', onOutput);
    // Never keep the parent alive just for this child: the exit handler below kills it.
    proc.unref();
    (proc.stdout as { unref?: () => void } | null)?.unref?.();
    (proc.stderr as { unref?: () => void } | null)?.unref?.();
    track(proc);
    child = proc;
    stopping = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    exited = new Promise<void>((resolve) => {
      proc.on('error', (error: NodeJS.ErrnoException) => {
        spawnError = error;
        if (proc.pid === undefined) {
          // Never started (e.g. no java): 'exit' may not follow.
          if (child === proc) child = undefined;
          resolve();
        }
      });
      proc.on('exit', (code, signal) => {
        if (child === proc) child = undefined;
        if (!stopping) options.onUnexpectedExit?.(code, signal);
        resolve();
      });
    });
    const gone = exited.then(() => 'exited' as const);

    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true }),
    });
    const deadline = Date.now() + timeoutMs;
    const withOutput = (message: string): string => {
      const lines = output.text();
      return lines ? `${message}:\n${lines}` : message;
    };
    try {
      for (;;) {
        const state = await Promise.race([
          client.send(new ListTablesCommand({ Limit: 1 })).then(
            () => 'ready' as const,
            () => 'not yet' as const,
          ),
          gone,
          bindFailed,
        ]);
        if (state === 'ready') return;
        if (state === 'bind failed') {
          await stopChild();
          throw Object.assign(new Error(withOutput(`DynamoDB Local could not listen on port ${port}: the port is in use`)), {
            portInUse: true,
          });
        }
        if (state === 'exited') {
          if (spawnError?.code === 'ENOENT') throw new JavaMissingError(java, 'was not found', { cause: spawnError });
          if (spawnError?.code === 'EACCES') throw new JavaMissingError(java, 'is not executable', { cause: spawnError });
          // e.g. "... this version of the Java Runtime only recognizes class file versions up to 55.0" (Java 11)
          const tooOld = /UnsupportedClassVersionError(?:[\s\S]*?class file versions up to (\d+))?/.exec(output.text());
          if (tooOld)
            throw new JavaMissingError(java, tooOld[1] ? `is Java ${Number(tooOld[1]) - 44}` : 'is too old (UnsupportedClassVersionError)');
          throw Object.assign(new Error(withOutput(`DynamoDB Local exited before answering on port ${port}`)), {
            portInUse: BIND_FAILURE.test(output.text()),
          });
        }
        if (Date.now() >= deadline) {
          await stopChild();
          throw new Error(withOutput(`DynamoDB Local did not answer on port ${port} within ${timeoutMs} ms`));
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      client.destroy();
    }
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (!proc) return exited;
    stopping = true;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  // A port picked by us can be taken by someone else before Java binds it: pick another one, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      if (!pickPort || attempt >= 3 || !(error as { portInUse?: boolean }).portInUse) throw error;
      port = await freePort();
    }
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    loopbackOnly,
    stop: stopChild,
    start: async () => {
      if (child) return;
      await launch();
    },
  };
}

/** The last `max` lines written by the child, for error messages. */
function tail(max: number): { push: (chunk: Buffer) => void; text: () => string } {
  const lines: string[] = [];
  let partial = '';
  return {
    push: (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.trim() !== ''));
      if (lines.length > max) lines.splice(0, lines.length - max);
    },
    text: () => [...lines, partial].filter((line) => line.trim() !== '').join('\n'),
  };
}

// Children still running when this process ends are killed, so no JVM outlives a test run or a crash.
const live = new Set<ChildProcess>();
let handlersInstalled = false;

function track(proc: ChildProcess): void {
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  proc.on('error', () => {
    if (proc.pid === undefined) live.delete(proc);
  });
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // With other listeners the application owns shutdown (and 'exit' still kills the children);
      // alone, restore the default behaviour: kill the children, then die of the same signal.
      if (process.listenerCount(signal) > 1) return;
      for (const p of live) p.kill('SIGKILL');
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
