// `npm run bench [-- --only exchanges|short-tokens|proactive|handler|cold-start|throughput|identity-layer]`: the cache and cold-start
// figures of issue 4, on DynamoDB Local and the Entra emulator, and the identity endpoint's Lambda extension layer.
// Prints a Markdown table; docs/performance.md explains it.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { measureColdStart, type ColdStartFigures } from './cold-start';
import { runExchangeBurst, CLIENT, ENTRA_LATENCY_MS, TENANT, type ExchangeRun } from './exchanges';
import { L1_HIT_BUDGET_US, measureHandlerCost, type CostFigures } from './handler-cost';
import { buildLayer, layerSize, measureLayerRuns, nativeLayerArch, removeLayer } from './identity-layer';
import { runShortLivedTokens, TEN_MINUTES } from './short-lived-tokens';
import { OUTAGE_SECONDS, PROACTIVE_PERIOD_SECONDS, PROACTIVE_TOKEN_SECONDS, runProactiveRefresh } from './proactive-refresh';
import { fmt } from './stats';
import { measureThroughput, type ThroughputFigures } from './throughput';
import { startDynamoDbLocal, type DynamoDbLocal } from '../dynamodb-local/launcher';
import { freePort } from '../free-port';
import { startEntraEmulator, type EntraEmulator } from '../entra-emulator/emulator';

// The SDK warns on Node < 22 at every client creation; Lambda runs Node 24, so it says nothing about the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const SECTIONS = ['exchanges', 'short-tokens', 'proactive', 'handler', 'cold-start', 'throughput', 'identity-layer'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({ options: { only: { type: 'string', multiple: true } } });
const only = (values.only ?? [...SECTIONS]) as Section[];
for (const section of only) {
  if (!SECTIONS.includes(section)) {
    process.stderr.write(`--only: expected one of ${SECTIONS.join(', ')}, received ${JSON.stringify(section)}\n`);
    process.exit(2);
  }
}
const wants = (section: Section) => only.includes(section);
const command = (section: Section) => `npm run bench -- --only ${section}`;
const log = (text: string) => process.stderr.write(`${text}\n`);

const rows: string[][] = [];
const addRow = (what: string, figure: string, goal: string, section: Section) => rows.push([what, figure, goal, `\`${command(section)}\``]);

let dynamodb: DynamoDbLocal | undefined;
let entra: EntraEmulator | undefined;
try {
  const exchangePorts = [await freePort(), await freePort(), await freePort()];
  const throughputPort = await freePort();
  const layerBrokerPort = await freePort();
  const issuers = [exchangePorts[0]!, throughputPort, layerBrokerPort].map((port) => `http://127.0.0.1:${port}`);
  if (wants('exchanges') || wants('short-tokens') || wants('proactive') || wants('handler')) {
    log('starting DynamoDB Local ...');
    dynamodb = await startDynamoDbLocal();
  }
  if (wants('exchanges') || wants('throughput') || wants('identity-layer')) {
    entra = await startEntraEmulator({
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: issuers.map((issuer) => ({
            issuer,
            subject: 'aws-token-broker',
            audiences: ['api://AzureADTokenExchange'],
          })),
        },
      ],
    });
  }

  if (wants('exchanges')) {
    const requests = 150;
    const runs: ExchangeRun[] = [];
    for (const mode of ['coordinated', 'uncoordinated'] as const) {
      log(`section 1: ${requests} concurrent cold requests over 3 processes, ${mode} cache ...`);
      runs.push(await runExchangeBurst(mode, { dynamodb: dynamodb!, entra: entra!, ports: exchangePorts, requests }));
    }
    const [coordinated, naive] = runs as [ExchangeRun, ExchangeRun];
    addRow(
      `1. Exchanges at Entra: ${requests} concurrent cold requests, 3 processes, one table (Entra slowed to ${ENTRA_LATENCY_MS} ms)`,
      `**${coordinated.exchanges}** (${coordinated.ok} × 200, ${coordinated.failed} failed, ${fmt(coordinated.wallMs, 0)} ms)`,
      '1',
      'exchanges',
    );
    addRow(
      '1b. Same burst, read-through cache without memory tier, single flight or lease',
      `${naive.exchanges} (${naive.ok} × 200, ${naive.failed} failed, ${fmt(naive.wallMs, 0)} ms)`,
      'baseline',
      'exchanges',
    );
  }

  if (wants('short-tokens')) {
    log(`section 1c: 70 requests over 3 processes with ${TEN_MINUTES / 60}-minute tokens ...`);
    const run = await runShortLivedTokens({ dynamodb: dynamodb!, ports: exchangePorts });
    addRow(
      `1c. Exchanges at Entra: ${run.requests} requests in waves of one per process, 3 processes, one table, ${TEN_MINUTES / 60}-minute tokens`,
      `**${run.exchanges}** (${run.ok} × 200, ${run.failed} failed, ${fmt(run.wallMs, 0)} ms)`,
      '1',
      'short-tokens',
    );
  }

  if (wants('proactive')) {
    log(
      `section 1d: proactive refresh, 3 processes, one table, ${PROACTIVE_TOKEN_SECONDS} s tokens, callers throughout, a ${OUTAGE_SECONDS} s Entra outage (about 3 minutes) ...`,
    );
    const run = await runProactiveRefresh({ dynamodb: dynamodb!, ports: exchangePorts });
    const setting = `3 processes, one table, ${PROACTIVE_TOKEN_SECONDS} s tokens, refresher every ${PROACTIVE_PERIOD_SECONDS} s, ${run.requests} requests over ${fmt(run.wallMs / 1000, 0)} s`;
    addRow(`1d. Requests that waited on an exchange after warm-up (${setting})`, `**${run.waitedAfterWarmUp}**`, '0', 'proactive');
    addRow(
      `1e. Failed requests during a ${OUTAGE_SECONDS} s Entra outage that begins when the token is due (shorter than its servable life left)`,
      `**${run.failedDuringOutage}** of ${run.requestsDuringOutage} (${run.failed} failed in the whole run)`,
      '0',
      'proactive',
    );
    addRow(
      '1f. Exchanges per refresh (exchanges at Entra / refreshes, warm-up included)',
      `**${fmt(run.exchanges / run.refreshes, 2)}** (${run.exchanges} / ${run.refreshes})`,
      '1, not one per process',
      'proactive',
    );
  }

  if (wants('handler')) {
    log('section 2: handler cost per request ...');
    const cost: CostFigures[] = await measureHandlerCost(dynamodb!.endpoint, 20_000);
    const [empty, l1] = cost as [CostFigures, CostFigures, ...CostFigures[]];
    for (const figure of cost) {
      const ratio =
        figure === empty
          ? ''
          : ` = ${fmt(figure.medianUs / empty.medianUs, 2)}x / ${fmt(figure.p99Us / empty.p99Us, 2)}x empty (median / p99)`;
      addRow(
        `2. ${figure.name}: median / p99 per request`,
        `${fmt(figure.medianUs)} µs / ${fmt(figure.p99Us)} µs${ratio}`,
        figure === l1 ? `≤ ${String(L1_HIT_BUDGET_US)} µs median (${figure.medianUs <= L1_HIT_BUDGET_US ? 'met' : 'MISSED'})` : '',
        'handler',
      );
    }
  }

  if (wants('cold-start')) {
    log('section 3: bundling and loading each function (fresh process per load) ...');
    const figures: ColdStartFigures[] = await measureColdStart(15);
    for (const figure of figures) {
      addRow(
        `3. ${figure.entry}${figure.entry === 'empty' ? '' : ` (${figure.variant})`}: bundle size, load time`,
        `${fmt(figure.bytes / 1024)} KiB (${fmt(figure.gzipBytes / 1024)} KiB gzip), ${fmt(figure.loadMedianMs)} ms median`,
        '',
        'cold-start',
      );
    }
  }

  if (wants('throughput')) {
    log(
      'section 4: local runtime throughput on cache hits beside an empty node:http server, without and with the audit line (autocannon, 3 × 10 s each, alternately) ...',
    );
    const t: ThroughputFigures = await measureThroughput(entra!, throughputPort, 10, 20);
    const cpu = (figures: ThroughputFigures['runtime']) =>
      figures.cpuUsPerRequest === undefined ? '' : `, server CPU ${fmt(figures.cpuUsPerRequest, 0)} µs/request`;
    addRow(
      `4. Local runtime, \`GET /token/graph\` cache hits, ${t.connections} connections, ${t.durationSeconds} s, median of ${t.rounds}`,
      `${fmt(t.runtime.requestsPerSecond, 0)} req/s, p50 ${t.runtime.p50Ms} ms, p99 ${t.runtime.p99Ms} ms${cpu(t.runtime)}, ${t.runtime.non2xx} non-2xx`,
      '',
      'throughput',
    );
    addRow(
      `4b. Empty node:http server, same load, alternating with 4`,
      `${fmt(t.empty.requestsPerSecond, 0)} req/s, p50 ${t.empty.p50Ms} ms, p99 ${t.empty.p99Ms} ms${cpu(t.empty)}: runtime / empty = **${fmt(t.runtime.requestsPerSecond / t.empty.requestsPerSecond, 2)}**`,
      'the ratio does not fall',
      'throughput',
    );
    addRow(
      `4c. Empty node:http server writing the token route's audit line per request, same load, alternating with 4`,
      `${fmt(t.emptyWithAudit.requestsPerSecond, 0)} req/s, p50 ${t.emptyWithAudit.p50Ms} ms, p99 ${t.emptyWithAudit.p99Ms} ms${cpu(t.emptyWithAudit)}: runtime / this = **${fmt(t.runtime.requestsPerSecond / t.emptyWithAudit.requestsPerSecond, 2)}**`,
      'the ratio does not fall',
      'throughput',
    );
  }

  if (wants('identity-layer')) {
    const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MiB`;
    const native = nativeLayerArch();
    for (const arch of ['arm64', 'x64']) {
      log(`section 5: building the identity endpoint layer for ${arch} (scripts/build-identity-layer.mjs) ...`);
      const dir = buildLayer(arch);
      try {
        const size = layerSize(arch, dir);
        addRow(
          `5. Identity endpoint layer, ${arch}: zipped (as the CDK CLI uploads it) / unzipped, ${size.files} files`,
          `${mib(size.zippedBytes)} / ${mib(size.unzippedBytes)}`,
          "unzipped ≤ 250 MiB with the function's code (Lambda's limit)",
          'identity-layer',
        );
        if (arch === native) {
          const runs = 10;
          log(`section 5: the ${arch} extension, ${runs} fresh processes against the Extensions API stand-in ...`);
          const figures = await measureLayerRuns(dir, entra!, layerBrokerPort, runs);
          addRow(
            `5b. Extension start, ${arch}, median of ${runs}: from spawn to registered (the runtime's init waits for it) / to its first event/next`,
            `${fmt(figures.registeredMs, 0)} ms / ${fmt(figures.readyMs, 0)} ms`,
            '',
            'identity-layer',
          );
          addRow(
            `5c. Extension memory, ${arch}: RSS once ready / after its first token`,
            `${fmt(figures.rssReadyKb / 1024)} MiB / ${fmt(figures.rssServedKb / 1024)} MiB`,
            '',
            'identity-layer',
          );
          const added = figures.registeredMs + figures.firstTokenMs - figures.directCallMs;
          addRow(
            `5d. First token through the extension (it signs, calls the broker) / a cached one / the call it replaces (a fresh process loads the broker client and makes one signed call); broker cache hits`,
            `${fmt(figures.firstTokenMs, 0)} ms / ${fmt(figures.cachedTokenMs, 1)} ms / ${fmt(figures.directCallMs, 0)} ms: start + first token − direct call = **${fmt(added, 0)} ms**`,
            `≤ the direct call (${fmt(figures.directCallMs, 0)} ms)`,
            'identity-layer',
          );
        }
      } finally {
        removeLayer(dir);
      }
    }
  }

  const header = ['what', 'figure', 'goal', 'reproduce'];
  process.stdout.write(`\nNode ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}\n\n`);
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
} finally {
  await entra?.close();
  await dynamodb?.stop();
}
