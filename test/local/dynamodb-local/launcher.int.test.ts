import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import { ensureDynamoDbLocal } from '../../../local/dynamodb-local/jar';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../../local/dynamodb-local/launcher';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { localDynamoDbClient } from '../../support/dynamodb';

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
      const token = { accessToken: 'at', expiresOn: 1_900_000_000, scope: 's/.default' };
      await store.put('graph', token);

      await ddb.stop();
      await ddb.stop(); // idempotent
      await expect(store.get('graph')).rejects.toBeInstanceOf(UpstreamUnavailableError);

      await ddb.start();
      expect(await store.get('graph')).toEqual(token);
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
    await expect(startDynamoDbLocal({ jarDir: await ensureDynamoDbLocal(), java: '/nonexistent/bin/java' })).rejects.toThrow(
      'DynamoDB Local needs Java 17+: install it (e.g. apt-get install -y default-jre-headless)',
    );
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
