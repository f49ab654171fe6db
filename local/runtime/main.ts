// `npm start -- --config FILE [--port N]`: the local runtime (docs/local-runtime.md).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { silenceAwsSdkNodeWarning } from '../../contract/aws-sdk-node-warning';
import { ConfigError } from '../../contract/config-error';
import { loadLocalConfig } from './local-config';
import { DEFAULT_PORT, startLocalRuntime } from './local-runtime';
import { START_EXIT, START_USAGE as USAGE } from './start-usage';

/** The message for a port another process holds, with the flag that avoids it. */
function portInUse(port: number): string {
  return (
    `cannot start the local runtime: port ${String(port)} on 127.0.0.1 is in use (another npm start?). ` +
    'Pass --port N for another port (--port 0 picks a free one), or stop the process that holds it.'
  );
}

async function main(): Promise<number> {
  silenceAwsSdkNodeWarning();
  let values;
  try {
    ({ values } = parseArgs({
      options: { config: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return START_EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return START_EXIT.ok;
  }
  if (!values.config) {
    process.stderr.write(`--config is required\n\n${USAGE}\n`);
    return START_EXIT.usage;
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: expected an integer from 0 to 65535, received ${JSON.stringify(values.port)}\n`);
    return START_EXIT.usage;
  }

  // Powertools writes its lines to stdout, as Lambda collects them; here stdout carries only the runtime's
  // announcements (`listening on …`, `issuer …`) for the scripts that read them, and whatever else is written to it
  // (every log and metric line) goes to stderr as written: nothing is parsed per line.
  const announce = process.stdout.write.bind(process.stdout);
  const toStderr: typeof process.stdout.write = process.stderr.write.bind(process.stderr);
  process.stdout.write = toStderr;

  let runtime;
  try {
    // npm runs scripts in the package's root; INIT_CWD is where the user typed the command.
    const configFile = resolve(process.env.INIT_CWD ?? process.cwd(), values.config);
    runtime = await startLocalRuntime({ config: await loadLocalConfig(configFile), port });
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write(`${portInUse(port)}\n`);
    else process.stderr.write(`cannot start the local runtime: ${(error as Error).message}\n`);
    return START_EXIT.failed;
  }
  const announcements = [`listening on ${runtime.url}`];
  // A private endpoint's token routes are under the REST API's stage, as its URL is: that is the URL callers use.
  if (runtime.tokenBaseUrl !== runtime.url) announcements.push(`private token API ${runtime.tokenBaseUrl}`);
  if (runtime.aws) {
    // Signer "aws-sts": the local STS stand-in is the issuer, and the role ARN the subject Entra's credential names.
    announcements.push(`aws issuer ${runtime.aws.issuer}`, `aws subject ${runtime.aws.subject}`);
  } else if (runtime.issuer !== runtime.url) {
    announcements.push(`issuer ${runtime.issuer}`);
  }
  // One write (under PIPE_BUF, so atomic on a pipe): a script that sees `listening on` has every other line too.
  announce(`${announcements.join('\n')}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stderr.write(`${signal}: stopping\n`);
  await runtime.close();
  return START_EXIT.ok;
}

process.exitCode = await main();
