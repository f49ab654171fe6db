// `npx tsx local/dynamodb-local/main.ts fetch | start [--port N] [--db-path DIR]`: DynamoDB Local on its own.
//   fetch   ensure the jar is cached (CI does this first)
//   start   run it in the foreground until Ctrl-C
import { silenceAwsSdkNodeWarning } from '../../contract/aws-sdk-node-warning';
import { ensureDynamoDbLocal } from './jar';
import { startDynamoDbLocal } from './launcher';

async function cli(argv: readonly string[]): Promise<number> {
  silenceAwsSdkNodeWarning();
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const index = rest.indexOf(name);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  if (command === 'fetch') {
    const dir = await ensureDynamoDbLocal();
    process.stdout.write(`DynamoDB Local is in ${dir}\n`);
    return 0;
  }
  if (command === 'start') {
    const portText = flag('--port');
    const port = portText === undefined ? 0 : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`--port must be an integer 0-65535, got "${portText}"\n`);
      return 2;
    }
    const dbPath = flag('--db-path');
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let resolveDone: (code: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => (resolveDone = resolve));
    const ddb = await startDynamoDbLocal({
      port,
      ...(dbPath ? { dbPath } : {}),
      onUnexpectedExit: (code, signal) => {
        process.stderr.write(`DynamoDB Local exited unexpectedly (${signal ?? `code ${code}`})\n`);
        resolveDone(1);
      },
    });
    process.stdout.write(`DynamoDB Local listening on ${ddb.endpoint} (${dbPath ? `data in ${dbPath}` : 'in memory'}); Ctrl-C stops it\n`);
    const shutdown = (): void => void ddb.stop().then(() => resolveDone(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    const code = await done;
    clearInterval(keepAlive);
    return code;
  }
  process.stderr.write('usage: npx tsx local/dynamodb-local/main.ts fetch | start [--port N] [--db-path DIR]\n');
  return 2;
}

cli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
