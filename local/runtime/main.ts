// `npm start -- --config FILE [--port N]`: the local runtime (DESIGN.md, "Local runtime").
import { parseArgs } from 'node:util';
import { ConfigError } from '../../contract/config-error';
import { loadLocalConfig } from './local-config';
import { DEFAULT_PORT, startLocalRuntime } from './local-runtime';
import { tapLogLines } from './log-tap';

const USAGE = `usage: npm start -- --config FILE [--port N]

Serves the broker's handlers on http://127.0.0.1:N (default ${DEFAULT_PORT}; 0 picks a free port).
FILE holds the broker configuration plus the local fields (issuer, signingKeyFile, signingKeyDir,
dynamodbEndpoint, tableName, region, sealingKeyFile, rotationStateKeyFile, localCredentials); see
docs/local-runtime.md and examples/local.json. With
"signer": "aws-sts" it also prints "aws issuer <url>" and "aws subject <role arn>" (docs/signers.md).`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { config: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`--config is required\n\n${USAGE}\n`);
    return 2;
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: expected an integer from 0 to 65535, received ${JSON.stringify(values.port)}\n`);
    return 2;
  }

  // Powertools writes INFO lines to stdout, as Lambda collects them; here stdout carries only the runtime's
  // announcements (`listening on …`, `issuer …`) for the scripts that read them, and every JSON line goes to stderr.
  const toStderr = process.stderr.write.bind(process.stderr);
  tapLogLines((line) => {
    toStderr(`${line}\n`);
  });

  let runtime;
  try {
    runtime = await startLocalRuntime({ config: await loadLocalConfig(values.config), port });
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`cannot start the local runtime: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`listening on ${runtime.url}\n`);
  // A private endpoint's token routes are under the REST API's stage, as its URL is: that is the URL callers use.
  if (runtime.tokenBaseUrl !== runtime.url) process.stdout.write(`private token API ${runtime.tokenBaseUrl}\n`);
  if (runtime.aws) {
    // Signer "aws-sts": the local STS stand-in is the issuer, and the role ARN the subject Entra's credential names.
    process.stdout.write(`aws issuer ${runtime.aws.issuer}\naws subject ${runtime.aws.subject}\n`);
  } else if (runtime.issuer !== runtime.url) {
    process.stdout.write(`issuer ${runtime.issuer}\n`);
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stderr.write(`${signal}: stopping\n`);
  await runtime.close();
  return 0;
}

process.exitCode = await main();
