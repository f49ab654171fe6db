import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import { ensureDynamoDbLocal } from '../../../local/dynamodb-local/jar';
import {
  JavaMissingError,
  javaExecutable,
  javaMajorVersion,
  requireJava,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from '../../../local/dynamodb-local/launcher';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { localDynamoDbClient } from '../../support/dynamodb';
import { JAVA_11, JAVA_8 } from '../../support/fake-java';

// Each start is a JVM start-up: seconds, and more on a loaded CI machine.
const JVM_TEST_TIMEOUT = 120_000;

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ddb-local-test-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** Writes `script` as an executable `java` in a fresh directory and returns its path. */
const fakeJava = async (script: string): Promise<string> => {
  const java = path.join(await tempDir(), 'java');
  await writeFile(java, script);
  await chmod(java, 0o755);
  return java;
};

/** Whether a TCP connection to `host:port` is accepted (DynamoDB Local answers, or nothing listens there). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(3_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The local addresses a TCP port listens on, from the kernel's socket tables (IPv4 and IPv6). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue; // 0A: LISTEN
      const hex = local.slice(0, local.indexOf(':'));
      // IPv4, or IPv4-mapped IPv6 (::ffff:a.b.c.d, four little-endian words): the last 4 bytes, little-endian.
      const v4 = hex
        .slice(-8)
        .match(/../g)!
        .reverse()
        .map((byte) => parseInt(byte, 16))
        .join('.');
      addresses.push(hex.length === 8 || /^0{16}FFFF0000/.test(hex) ? v4 : hex === '0'.repeat(32) ? '::' : hex);
    }
  }
  return addresses;
}

describe('startDynamoDbLocal on 127.0.0.1', () => {
  it(
    'listens on 127.0.0.1 only: another loopback address (127.0.0.2) is refused, where the bare jar accepts it',
    async () => {
      const ddb = await startDynamoDbLocal({});
      cleanup.push(() => ddb.stop());
      expect(ddb.loopbackOnly).toBe(true);
      expect(listeningAddresses(ddb.port)).toEqual(['127.0.0.1']);
      expect(await accepts('127.0.0.1', ddb.port)).toBe(true);
      expect(await accepts('127.0.0.2', ddb.port)).toBe(false);

      // The same jar without the launcher (a Java with no javac beside it, nothing compiled yet): every interface, with one warning.
      const bin = await tempDir();
      await symlink(await realJava(), path.join(bin, 'java'));
      const warnings: string[] = [];
      const open = await startDynamoDbLocal({
        java: path.join(bin, 'java'),
        launcherCacheDir: await tempDir(),
        warn: (line) => warnings.push(line),
      });
      cleanup.push(() => open.stop());
      expect(open.loopbackOnly).toBe(false);
      expect(warnings).toEqual([
        `warning: DynamoDB Local listens on every interface (0.0.0.0), reachable from the network: no "${path.join(bin, 'javac')}" (a JDK) to compile its launcher. Install a JDK (e.g. apt-get install -y default-jdk-headless) to keep it on 127.0.0.1.`,
      ]);
      expect(listeningAddresses(open.port)).toEqual(['::']);
      expect(await accepts('127.0.0.2', open.port)).toBe(true);
    },
    JVM_TEST_TIMEOUT,
  );
});

/** The real java binary (resolving PATH and symlinks), so a folder can hold it without its javac. */
async function realJava(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('readlink', ['-f', execFileSync('sh', ['-c', `command -v ${javaExecutable()}`], { encoding: 'utf8' }).trim()], {
    encoding: 'utf8',
  }).trim();
}

describe('startDynamoDbLocal', () => {
  it(
    'restarts on the same port and keeps the data of a dbPath; while stopped, the store reports it unavailable',
    async () => {
      const ddb: DynamoDbLocal = await startDynamoDbLocal({ dbPath: await tempDir() });
      cleanup.push(() => ddb.stop());
      expect(ddb.endpoint).toBe(`http://127.0.0.1:${ddb.port}`);
      const client = localDynamoDbClient(ddb.endpoint, {
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 2_000, throwOnRequestTimeout: true }),
      });
      cleanup.push(async () => client.destroy());
      await ensureTokenTable(client, 'restart-test');
      const store = new DynamoDbTokenStore(client, 'restart-test');
      const sealed = new Uint8Array([1, 2, 3]);
      await store.put('graph', sealed, 1_900_000_000);

      await ddb.stop();
      await ddb.stop(); // idempotent
      await expect(store.get('graph')).rejects.toBeInstanceOf(UpstreamUnavailableError);

      await ddb.start();
      expect(await store.get('graph')).toEqual(sealed);
    },
    JVM_TEST_TIMEOUT,
  );

  it(
    'uses the port it is given',
    async () => {
      const port = await freePort();
      const ddb = await startDynamoDbLocal({ port });
      cleanup.push(() => ddb.stop());
      expect(ddb.port).toBe(port);
      expect(ddb.endpoint).toBe(`http://127.0.0.1:${port}`);
    },
    JVM_TEST_TIMEOUT,
  );

  it(
    'fails at once, with its output, when the given port is taken',
    async () => {
      const blocker = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => new Promise((resolve) => blocker.close(resolve)));
      const { port } = blocker.address() as { port: number };
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(
        new RegExp(`^DynamoDB Local could not listen on port ${port}: the port is in use:\\n[\\s\\S]*BindException`),
      );
    },
    JVM_TEST_TIMEOUT,
  );

  it('fails with the last output lines when the process exits at once', async () => {
    const fake = path.join(await tempDir(), 'java');
    await writeFile(fake, '#!/bin/sh\necho "Error: something is wrong with this JVM" >&2\nexit 3\n');
    await chmod(fake, 0o755);
    await expect(startDynamoDbLocal({ jarDir: await ensureDynamoDbLocal(), java: fake })).rejects.toThrow(
      /exited before answering on port \d+:\nError: something is wrong with this JVM/,
    );
  });

  it('gives up after the start timeout and kills a process that never answers', async () => {
    const dir = await tempDir();
    const fake = path.join(dir, 'java');
    const pidFile = path.join(dir, 'pid');
    await writeFile(fake, `#!/bin/sh\necho $$ > ${pidFile}\necho "still starting"\nexec sleep 60\n`);
    await chmod(fake, 0o755);
    const started = Date.now();
    await expect(startDynamoDbLocal({ jarDir: await ensureDynamoDbLocal(), java: fake, startTimeoutMs: 1_000 })).rejects.toThrow(
      /did not answer on port \d+ within 1000 ms:\nstill starting/,
    );
    expect(Date.now() - started).toBeLessThan(6_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(); // gone
  });

  it('says how to get the jar when the jar directory has none', async () => {
    const empty = await tempDir();
    await expect(startDynamoDbLocal({ jarDir: empty })).rejects.toThrow(
      `DynamoDB Local jar not found: ${path.join(empty, 'DynamoDBLocal.jar')} does not exist. Run "npx tsx local/dynamodb-local/main.ts fetch" to download it.`,
    );
  });

  it('says how to install Java when it is missing', async () => {
    const error = await startDynamoDbLocal({ jarDir: await ensureDynamoDbLocal(), java: '/nonexistent/bin/java' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JavaMissingError);
    expect(error).toMatchObject({
      code: 'JAVA_MISSING',
      java: '/nonexistent/bin/java',
      message:
        'DynamoDB Local needs Java 17+, and "/nonexistent/bin/java" was not found: install it (e.g. apt-get install -y default-jre-headless)',
    });
  });

  it('says which Java it found when the JVM is too old for the jar (UnsupportedClassVersionError)', async () => {
    const java = await fakeJava(JAVA_11);
    const error = await startDynamoDbLocal({ jarDir: await ensureDynamoDbLocal(), java }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JavaMissingError);
    expect((error as Error).message).toBe(
      `DynamoDB Local needs Java 17+, and "${java}" is Java 11: install it (e.g. apt-get install -y default-jre-headless)`,
    );
  });
});

describe('requireJava (checked before the jar is downloaded)', () => {
  it('accepts the Java this suite runs DynamoDB Local with', async () => {
    await expect(requireJava()).resolves.toBeUndefined();
  });

  it('refuses a missing java and one older than 17, from its -version banner', async () => {
    await expect(requireJava('/nonexistent/bin/java')).rejects.toMatchObject({ name: 'JavaMissingError', found: 'was not found' });
    await expect(requireJava(await fakeJava(JAVA_11))).rejects.toMatchObject({ name: 'JavaMissingError', found: 'is Java 11' });
    await expect(requireJava(await fakeJava(JAVA_8))).rejects.toMatchObject({ name: 'JavaMissingError', found: 'is Java 8' });
  });

  it('lets an unreadable banner through (the launch then tells), and reads the usual banners', async () => {
    await expect(requireJava(await fakeJava('#!/bin/sh\necho "no version here" >&2\nexit 1\n'))).resolves.toBeUndefined();
    expect(javaMajorVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(javaMajorVersion('openjdk version "21" 2023-09-19')).toBe(21);
    expect(javaMajorVersion('java version "1.8.0_392"')).toBe(8);
    expect(javaMajorVersion('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "11.0.22" 2024-01-16')).toBe(11);
    expect(javaMajorVersion('')).toBeUndefined();
  });

  it('uses $JAVA_HOME/bin/java when JAVA_HOME is set, else java from PATH', () => {
    expect(javaExecutable({ JAVA_HOME: '/opt/jdk-17' })).toBe(path.join('/opt/jdk-17', 'bin', 'java'));
    expect(javaExecutable({})).toBe('java');
  });
});

describe('ensureDynamoDbLocal', () => {
  it('returns the cached directory without downloading again', async () => {
    const messages: string[] = [];
    const dir = await ensureDynamoDbLocal({ log: (m) => messages.push(m) });
    expect(path.basename(dir)).toBe('2.9.30');
    expect(messages).toEqual([]);
  });
});
