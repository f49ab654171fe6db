/**
 * `broker-identity-endpoint --url <broker url> --resource <azure resource>=<alias> … [--port N] [--region R]`: the
 * identity endpoint as a long-running process. Run by client/bin/broker-identity-endpoint.ts; `main` has no side
 * effects on import, so tests call it in-process too.
 */
import { parseArgs } from 'node:util';
import type { CallerIdentityLookup, Fetch } from '../caller-identity';
import type { CredentialsSource, Env } from '../sign-request';
import { IdentityEndpointError } from './identity-endpoint-error';
import { startIdentityEndpoint, type IdentityEndpointLogger } from './identity-endpoint';
import { parseResourceFlags, parseResourceMapJson, type ResourceMap } from './resource-map';

/** Exit codes, stable for scripts (also listed in `--help`). */
export const IDENTITY_ENDPOINT_EXIT = { stopped: 0, other: 1, usage: 2 } as const;

export const IDENTITY_ENDPOINT_HELP = `Usage: broker-identity-endpoint --url <broker url> --resource <azure resource>=<alias> [--resource ...]
                                [--port N] [--region R]

Serves Azure's App Service managed-identity protocol on 127.0.0.1, backed by the AWS-to-Azure token broker,
so that Azure SDKs in any language (DefaultAzureCredential, ManagedIdentityCredential) get Entra ID tokens
with no code change. Tokens come from GET <url>/token/<alias>, signed with SigV4 and the AWS default
credential chain; each resource's alias is what IAM grants.

Once ready it prints exactly two lines on stdout, for the application's environment:
  IDENTITY_ENDPOINT=http://127.0.0.1:<port>/msi/token
  IDENTITY_HEADER=<secret>
then one line per request on stderr (never a token). It stops on SIGTERM or SIGINT.

Options:
  --url <url>                  broker base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com
                               (default: $BROKER_URL)
  --resource <resource>=<alias>
                               an Azure resource and the broker alias that serves it, e.g.
                               https://storage.azure.com=storage; repeat for more (default:
                               $BROKER_IDENTITY_RESOURCES, a JSON object {"<resource>": "<alias>"})
  --port <n>                   port on 127.0.0.1 (default 0: any free port)
  --region <region>            signing region (default: from an execute-api URL, else $AWS_REGION,
                               $AWS_DEFAULT_REGION)
  -h, --help                   show this help

Environment:
  IDENTITY_HEADER              the secret callers must send in X-IDENTITY-HEADER, 16 to 512 characters from
                               A-Z a-z 0-9 - . _ ~ + / = (default: 256 random bits, printed once ready)

Exit codes:
  0  stopped by SIGTERM or SIGINT
  1  could not start (the port is in use, ...) or failed unexpectedly
  2  usage error (bad arguments, bad URL, region unknown, bad resource or IDENTITY_HEADER)
`;

/** The part of `process` the CLI listens to for its stop signals. */
export interface SignalSource {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/** Where the CLI writes and what it runs with; tests pass their own. */
export interface IdentityEndpointCliIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Env;
  readonly signals?: SignalSource;
  readonly fetch?: Fetch;
  readonly credentials?: CredentialsSource;
  readonly identify?: CallerIdentityLookup | false;
}

const NAME = 'broker-identity-endpoint';

/** One line per request: `<status> <code> resource=… alias=… correlation=… <ms>ms` (the Lambda extension's too). */
export function lineLogger(stderr: { write(text: string): unknown }): IdentityEndpointLogger {
  const show = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));
  const write = (fields: Readonly<Record<string, unknown>> = {}) => {
    const { status, code, durationMs, error, ...rest } = fields;
    const pairs = Object.entries(rest)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${show(value)}`);
    const parts = [show(status), show(code), ...pairs, `${show(durationMs)}ms`];
    if (error !== undefined) parts.push(`error: ${show(error)}`);
    stderr.write(`${NAME}: ${parts.join(' ')}\n`);
  };
  return {
    info: (_message, fields) => write(fields),
    warn: (_message, fields) => write(fields),
    error: (_message, fields) => write(fields),
  };
}

/**
 * Runs the endpoint until SIGTERM or SIGINT.
 * @returns the exit code (see `IDENTITY_ENDPOINT_EXIT`); never throws
 */
export async function main(argv: readonly string[], io: IdentityEndpointCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const signals = io.signals ?? process;
  const fail = (code: number, message: string) => {
    stderr.write(`${NAME}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return code;
  };

  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        url: { type: 'string' },
        resource: { type: 'string', multiple: true },
        port: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(IDENTITY_ENDPOINT_EXIT.usage, `${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  const { values } = parsed;
  if (values.help) {
    stdout.write(IDENTITY_ENDPOINT_HELP);
    return IDENTITY_ENDPOINT_EXIT.stopped;
  }
  const url = values.url ?? env.BROKER_URL;
  if (!url) return fail(IDENTITY_ENDPOINT_EXIT.usage, 'no broker URL: pass --url or set BROKER_URL (see --help)');
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      return fail(IDENTITY_ENDPOINT_EXIT.usage, `--port must be an integer from 0 to 65535, got "${values.port}"`);
    }
  }
  let resources: ResourceMap;
  try {
    if (values.resource !== undefined) resources = parseResourceFlags(values.resource);
    else if (env.BROKER_IDENTITY_RESOURCES) resources = parseResourceMapJson(env.BROKER_IDENTITY_RESOURCES, 'BROKER_IDENTITY_RESOURCES');
    else return fail(IDENTITY_ENDPOINT_EXIT.usage, 'no resource: pass --resource <azure resource>=<alias> (see --help)');
  } catch (error) {
    return fail(IDENTITY_ENDPOINT_EXIT.usage, error instanceof Error ? error.message : String(error));
  }
  const identityHeader = env.IDENTITY_HEADER;

  let endpoint;
  try {
    endpoint = await startIdentityEndpoint({
      brokerUrl: url,
      resources,
      port,
      env,
      logger: lineLogger(stderr),
      ...(identityHeader ? { identityHeader } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.credentials ? { credentials: io.credentials } : {}),
      ...(io.identify !== undefined ? { identify: io.identify } : {}),
    });
  } catch (error) {
    if (error instanceof IdentityEndpointError) {
      const message =
        error.code === 'invalid_argument' && identityHeader && /identity header/.test(error.message)
          ? `IDENTITY_HEADER: ${error.message}`
          : error.message;
      return fail(error.code === 'invalid_argument' ? IDENTITY_ENDPOINT_EXIT.usage : IDENTITY_ENDPOINT_EXIT.other, message);
    }
    return fail(IDENTITY_ENDPOINT_EXIT.other, `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  }

  // Both lines in one write, so a reader never sees one without the other.
  stdout.write(`IDENTITY_ENDPOINT=${endpoint.url}\nIDENTITY_HEADER=${endpoint.identityHeader}\n`);
  stderr.write(`${NAME}: listening on ${endpoint.url} for ${resources.describe()}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      signals.off('SIGTERM', stop);
      signals.off('SIGINT', stop);
      resolve();
    };
    signals.once('SIGTERM', stop);
    signals.once('SIGINT', stop);
  });
  await endpoint.close();
  stderr.write(`${NAME}: stopped\n`);
  return IDENTITY_ENDPOINT_EXIT.stopped;
}
