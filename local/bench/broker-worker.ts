// One broker process for the benchmark: `tsx local/bench/broker-worker.ts CONFIG PORT coordinated|uncoordinated`.
// The same local runtime as `npm start`, with the cache swapped for the baseline when asked.
import { loadLocalConfig } from '../runtime/local-config';
import { startLocalRuntime } from '../runtime/local-runtime';
import { UncoordinatedCache } from './uncoordinated-cache';

const [configFile, port, mode] = process.argv.slice(2);
if (!configFile || !port || (mode !== 'coordinated' && mode !== 'uncoordinated')) {
  process.stderr.write('usage: broker-worker.ts CONFIG PORT coordinated|uncoordinated\n');
  process.exit(2);
}
const runtime = await startLocalRuntime({
  config: await loadLocalConfig(configFile),
  port: Number(port),
  logLevel: 'WARN',
  createCache: mode === 'uncoordinated' ? (options) => new UncoordinatedCache(options) : undefined,
});
process.stdout.write(`listening on ${runtime.url}\n`);
process.once('SIGTERM', () => void runtime.close().then(() => process.exit(0)));
