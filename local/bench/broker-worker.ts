// One broker process for the benchmark: `tsx local/bench/broker-worker.ts CONFIG PORT coordinated|uncoordinated`.
// coordinated: the same local runtime as `npm start`; uncoordinated: the naive baseline (./uncoordinated-broker.ts).
import { ensureTokenTable } from '../runtime/ensure-table';
import { loadLocalConfig } from '../runtime/local-config';
import { startLocalRuntime } from '../runtime/local-runtime';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { startUncoordinatedBroker } from './uncoordinated-broker';

const [configFile, port, mode] = process.argv.slice(2);
if (!configFile || !port || (mode !== 'coordinated' && mode !== 'uncoordinated')) {
  process.stderr.write('usage: broker-worker.ts CONFIG PORT coordinated|uncoordinated\n');
  process.exit(2);
}
const config = await loadLocalConfig(configFile);
let broker: { url: string; close(): Promise<void> };
if (mode === 'coordinated') {
  // The default log level (INFO), as `npm start` runs: a cache hit writes its audit line and nothing else.
  broker = await startLocalRuntime({ config, port: Number(port) });
} else {
  const client = createDynamoDbClient({
    endpoint: config.dynamodbEndpoint,
    region: config.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, config.tableName);
  client.destroy();
  broker = await startUncoordinatedBroker(config, Number(port));
}
process.stdout.write(`listening on ${broker.url}\n`);
process.once('SIGTERM', () => void broker.close().then(() => process.exit(0)));
