// `npm run demo -- --rotation`: a signing key's life on a fast schedule (a new key every 8 seconds, published 4 seconds
// ahead, kept 3 seconds after it stops signing), with the Entra emulator keeping the JWKS 2 seconds and never
// refetching on an unknown kid, as a strict Entra might. Workload requests run all along; none is refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port';
import { startEntraEmulator } from '../entra-emulator/emulator';
import { parseLocalConfig } from '../runtime/local-config';
import { sleep } from '../../lambda/core/retry';
import { startLocalRuntime } from '../runtime/local-runtime';
import { tapLogLines } from '../runtime/log-tap';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const ROTATION = { intervalSeconds: 8, publishLeadSeconds: 4, retireAfterSeconds: 3 };
/** Long enough for a key's whole life (about 20 s), with room for a slow machine. */
const MAX_RUN_MS = 45_000;

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

/** What each rotation step does to a key, as the demo names it. */
const STEP_TEXT: Record<string, string> = {
  create: 'published',
  adopt: 'adopted',
  activate: 'active (signs); the previous one is retired (still in the JWKS)',
  unpublish: 'left the JWKS',
  'schedule-deletion': 'deleted',
};

/**
 * Runs the rotation walkthrough.
 * @returns true when every request was served and a key went through published → active → retired → deleted
 */
export async function rotationDemo(): Promise<boolean> {
  const folder = await mkdtemp(join(tmpdir(), 'broker-rotation-demo-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${String(port)}`;
  const entra = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: CLIENT,
        federatedCredentials: [{ issuer, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] }],
      },
    ],
    tokenLifetimeSeconds: 2,
    issuerMetadataCache: { seconds: 2, refetchOnUnknownKid: false },
  });
  const started = Date.now();
  const at = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s`;
  const names = new Map<string, string>();
  const nameOf = (keyId: string) => {
    if (!names.has(keyId)) names.set(keyId, `K${String(names.size + 1)}`);
    return names.get(keyId) ?? keyId;
  };
  const lives = new Map<string, string[]>();
  let activeKey: string | undefined;
  const onLog = (line: string) => {
    if (!line.includes('key rotation step')) return;
    const { step, keyId } = JSON.parse(line) as { step: string; keyId?: string };
    if (!keyId) return;
    const events = lives.get(keyId) ?? [];
    if (step === 'activate') {
      if (activeKey) lives.get(activeKey)?.push('retired');
      activeKey = keyId;
      events.push('active');
    } else if (step === 'create' && activeKey === undefined) {
      activeKey = keyId;
      events.push('active');
    } else {
      events.push(STEP_TEXT[step] ?? step);
    }
    lives.set(keyId, events);
    process.stdout.write(
      `${at()}  ${bold(nameOf(keyId))} ${step === 'create' && events[0] === 'active' ? 'created, active at once (the first key)' : (STEP_TEXT[step] ?? step)}\n`,
    );
  };
  process.stdout.write(
    `${bold('Key rotation, fast')}: a new key every ${String(ROTATION.intervalSeconds)} s, published ${String(ROTATION.publishLeadSeconds)} s before it signs, ` +
      `kept ${String(ROTATION.retireAfterSeconds)} s after; the Entra emulator keeps the JWKS 2 s and does not refetch on an unknown kid.\n` +
      `(A deployment's defaults: 90 days, 2 days, 1 day.) Keys as PEM files in ${join(folder, 'keys')}.\n\n`,
  );
  /** One key went the whole way: published → active → retired → out of the JWKS → deleted. */
  const lifeShown = () =>
    [...lives.values()].some((events) => ['published', 'active', 'retired', 'left the JWKS', 'deleted'].every((e) => events.includes(e)));
  // The broker runs in this process: its log lines (on stdout and stderr, as in Lambda) are read, not shown.
  const stopTap = tapLogLines(onLog);
  const runtime = await startLocalRuntime({
    config: parseLocalConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { graph: 'https://graph.microsoft.com/.default' },
      authorityHost: entra.url,
      signingKeyDir: join(folder, 'keys'),
      keyRotation: ROTATION,
    }),
    port,
  });
  let served = 0;
  let refused = 0;
  try {
    let lastJwks = '';
    while (Date.now() - started < MAX_RUN_MS && !lifeShown()) {
      const [token, jwks] = await Promise.all([fetch(`${runtime.url}/token/graph`), fetch(`${runtime.url}/jwks`)]);
      await token.arrayBuffer();
      if (token.status === 200) served += 1;
      else refused += 1;
      const kids = ((await jwks.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid.slice(0, 8)).join(', ');
      if (kids !== lastJwks) {
        process.stdout.write(`${at()}  JWKS: ${kids}\n`);
        lastJwks = kids;
      }
      await sleep(250);
    }
  } finally {
    await runtime.close();
    stopTap();
    await entra.close();
    await rm(folder, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n${String(served)} token requests served, ${String(refused)} refused; Entra exchanges: ${String(entra.requests.exchanges)}, refusals: ${String(entra.requests.attempts - entra.requests.exchanges)}.\n`,
  );
  for (const [keyId, events] of lives) process.stdout.write(`${nameOf(keyId)}: ${events.map((e) => e.split(' ')[0]).join(' → ')}\n`);
  return refused === 0 && entra.requests.attempts === entra.requests.exchanges && lifeShown();
}
