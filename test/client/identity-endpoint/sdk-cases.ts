/**
 * The cases every real Azure SDK runs against the identity endpoint (one `sdk-<language>.int.test.ts` per SDK): a
 * small program in test/client/identity-endpoint/sdk/<language>/ gets one token with `DefaultAzureCredential` or
 * `ManagedIdentityCredential`, configured by `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` only, and prints the token's
 * SHA-256 (never the token). The endpoint runs in the test process against the fake broker; the SDK is a child
 * process with a clean environment (no AWS or Azure variables, a fresh HOME).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../../client/identity-endpoint/identity-endpoint';
import { repoRoot } from '../../support/broker-process';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker, type FakeBroker } from '../fake-broker';

export const SDK_DIR = join(repoRoot, 'test/client/identity-endpoint/sdk');
export const SDK_CACHE = join(repoRoot, '.cache/sdk');

/** How to run one language's probe: the command before `<default|managed> <scope>`. */
export interface SdkProbe {
  readonly name: string;
  readonly command: readonly string[];
  /** Files the probe needs (installed by install.sh); a missing one fails the run with the fix. */
  readonly requires: readonly string[];
  /** Extra environment, e.g. for the JVM. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ProbeRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Runs a probe with only the identity variables (async: the endpoint and the fake broker live in this process). */
export function runProbe(probe: SdkProbe, args: readonly string[], env: Readonly<Record<string, string>>): Promise<ProbeRun> {
  const [file, ...prefix] = probe.command as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(file, [...prefix, ...args], { env: { ...probe.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const RESOURCES = {
  'https://storage.azure.com': 'storage',
  'https://vault.azure.net': 'vault',
  'https://flaky.example': 'flaky',
  'https://missing.example': 'missing',
};

/** Defines the shared cases for one SDK. */
export function describeSdk(probe: SdkProbe): void {
  describe(`${probe.name} against the identity endpoint`, () => {
    let broker: FakeBroker;
    let endpoint: IdentityEndpoint;
    let home: string;
    const requests: { status: unknown; code: unknown; resource: unknown }[] = [];

    beforeAll(async () => {
      const missing = probe.requires.filter((file) => !existsSync(file));
      if (missing.length > 0) {
        throw new Error(`${probe.name} is not installed (${missing.join(', ')}): run bash test/client/identity-endpoint/sdk/install.sh`);
      }
      broker = await startFakeBroker();
      const record = (_message: string, fields: Record<string, unknown> = {}) =>
        void requests.push({ status: fields.status, code: fields.code, resource: fields.resource });
      endpoint = await startIdentityEndpoint({
        brokerUrl: broker.url,
        resources: RESOURCES,
        region: REGION,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
        identify: false,
        logger: { info: record, warn: record, error: record },
      });
      home = mkdtempSync(join(tmpdir(), 'identity-endpoint-sdk-'));
    });
    afterAll(async () => {
      await endpoint?.close();
      await broker?.close();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    const run = (kind: 'default' | 'managed', scope: string) =>
      runProbe(probe, [kind, scope], {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        IDENTITY_ENDPOINT: endpoint.url,
        IDENTITY_HEADER: endpoint.identityHeader,
      });
    /** The token the endpoint serves now for `resource` (from its cache: the one the SDK was given). */
    const served = async (resource: string) => {
      const response = await fetch(`${endpoint.url}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`, {
        headers: { 'X-IDENTITY-HEADER': endpoint.identityHeader },
      });
      return (await response.json()) as { access_token: string; expires_on: string };
    };
    const countFor = (resource: string) => requests.filter((request) => request.resource === resource).length;

    it('DefaultAzureCredential gets the broker token with no code change', async () => {
      const result = await run('default', 'https://storage.azure.com/.default');
      expect(result.code, result.stderr).toBe(0);
      const token = await served('https://storage.azure.com');
      expect(token.access_token).toMatch(new RegExp(`^${TOKEN_PREFIX}-storage-1$`));
      const seen = JSON.parse(result.stdout) as { sha256: string; expires_on: number };
      expect(seen.sha256).toBe(sha256(token.access_token));
      // Some SDKs (msal-node) derive the expiry from `expires_in` and their own clock: a second apart at most.
      expect(Math.abs(seen.expires_on - Number(token.expires_on))).toBeLessThanOrEqual(1);
      expect(broker.tokenRequests('storage')).toBe(1);
    });

    it('ManagedIdentityCredential gets the broker token with no code change', async () => {
      const result = await run('managed', 'https://vault.azure.net/.default');
      expect(result.code, result.stderr).toBe(0);
      const token = await served('https://vault.azure.net');
      const seen = JSON.parse(result.stdout) as { sha256: string; expires_on: number };
      expect(seen.sha256).toBe(sha256(token.access_token));
      expect(Math.abs(seen.expires_on - Number(token.expires_on))).toBeLessThanOrEqual(1);
    });

    it("shows the endpoint's message for an unmapped resource: the resource and the mapped ones", async () => {
      const result = await run('managed', 'https://graph.microsoft.com/.default');
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('unmapped_resource: no alias is mapped for the resource https://graph.microsoft.com');
      expect(result.stderr).toContain('Mapped resources: https://storage.azure.com (alias storage), https://vault.azure.net (alias vault)');
    });

    it("retries the endpoint's 503 (an upstream down) and gets the token", async () => {
      broker.failNext('flaky', 1);
      const result = await run('managed', 'https://flaky.example/.default');
      expect(result.code, result.stderr).toBe(0);
      expect(requests.filter((request) => request.resource === 'https://flaky.example').map((request) => request.status)).toEqual([
        503, 200,
      ]);
      const token = await served('https://flaky.example');
      expect(JSON.parse(result.stdout).sha256).toBe(sha256(token.access_token));
    });

    it("does not retry the broker's refusal (unknown alias), and shows its code and message", async () => {
      const before = countFor('https://missing.example');
      const result = await run('managed', 'https://missing.example/.default');
      expect(result.code).toBe(1);
      // Go prints the JSON body as received, where the quotes are escaped.
      expect(result.stderr).toMatch(/unknown_alias: Unknown alias \\?"missing\\?"/);
      expect(result.stderr).not.toContain(TOKEN_PREFIX);
      expect(countFor('https://missing.example') - before).toBe(1);
    });
  });
}
