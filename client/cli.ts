/**
 * `broker-token <alias> --url <base>`: prints an Entra access token from the broker, for `$(...)` in scripts.
 * Run by client/bin/broker-token.ts (compiled to dist/bin/); `main` has no side effects on import, so tests call it in-process too.
 */
import { parseArgs } from 'node:util';
import { shellQuote } from '../contract/shell-quote';
import type { BrokerToken } from './broker-response';
import type { Fetch } from './caller-identity';
import { fetchBrokerToken } from './broker-client';
import type { CallerIdentityLookup } from './caller-identity';
import type { BrokerClientErrorCode } from './errors';
import { BrokerClientError } from './errors';
import type { CredentialsSource, Env } from './sign-request';

/** Exit codes, stable for scripts (also listed in `--help`). */
export const EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  unknownAlias: 3,
  forbidden: 4,
  unreachable: 5,
  entraRejected: 6,
  upstreamUnavailable: 7,
} as const;

const EXIT_BY_CODE: Partial<Record<BrokerClientErrorCode, number>> = {
  invalid_argument: EXIT.usage,
  unknown_alias: EXIT.unknownAlias,
  forbidden: EXIT.forbidden,
  broker_unreachable: EXIT.unreachable,
  entra_rejected: EXIT.entraRejected,
  upstream_unavailable: EXIT.upstreamUnavailable,
};

export const HELP = `Usage: broker-token <alias> --url <broker base URL> [--region R] [--json | --env] [--timeout-ms N]

Prints an Entra ID access token for <alias> from the AWS-to-Azure token broker, signing the request
(GET <url>/token/<alias>) with SigV4 and the AWS default credential chain (env, SSO/profile, web identity,
ECS, EC2).

Options:
  --url <url>         broker base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com
                      (default: $BROKER_URL)
  --region <region>   signing region (default: from an execute-api URL, else $AWS_REGION, $AWS_DEFAULT_REGION)
  --json              print the broker's JSON (access_token, token_type, expires_in, expires_on, scope)
  --env               print "export AZURE_ACCESS_TOKEN='<token>'" for eval
  --timeout-ms <n>    give up after n milliseconds (default 10000)
  -h, --help          show this help

Output: the bare token and a newline on stdout, e.g. TOKEN=$(broker-token graph --url "$URL").
Errors: one line on stderr, never containing the token.

Exit codes:
  0  success
  1  any other error (no AWS credentials, unexpected answer from the broker, ...)
  2  usage error (bad arguments, bad URL, region unknown)
  3  unknown alias (404)
  4  forbidden: AWS IAM refused the request (403; grant execute-api:Invoke on the alias's route)
  5  broker unreachable (connection refused, DNS, TLS, timeout)
  6  Entra ID rejected the broker's request (502; the message carries the AADSTS code and correlation id)
  7  upstream unavailable (503; retry later)
`;

/** Where the CLI writes and what it runs with; tests pass their own. */
export interface CliIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Env;
  readonly fetch?: Fetch;
  readonly credentials?: CredentialsSource;
  readonly identify?: CallerIdentityLookup | false;
}

/** POSIX single-quoting, safe for any token in `eval "$(broker-token ... --env)"`; one definition, in contract/. */
export { shellQuote };

function render(token: BrokerToken, mode: 'bare' | 'json' | 'env'): string {
  if (mode === 'json') {
    return `${JSON.stringify({ access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn, expires_on: token.expiresOn, scope: token.scope })}\n`;
  }
  if (mode === 'env') return `export AZURE_ACCESS_TOKEN=${shellQuote(token.accessToken)}\n`;
  return `${token.accessToken}\n`;
}

/**
 * Runs the CLI with `argv` (without node and script).
 * @returns the exit code (see `EXIT`); never throws
 */
export async function main(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const fail = (code: number, message: string) => {
    stderr.write(`broker-token: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return code;
  };

  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        region: { type: 'string' },
        json: { type: 'boolean' },
        env: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(EXIT.usage, `${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) return fail(EXIT.usage, `expected exactly one alias, got ${positionals.length} (see --help)`);
  const alias = positionals[0] as string;
  const url = values.url ?? env.BROKER_URL;
  if (!url) return fail(EXIT.usage, 'no broker URL: pass --url or set BROKER_URL (see --help)');
  if (values.json && values.env) return fail(EXIT.usage, '--json and --env cannot be combined');
  let timeoutMs: number | undefined;
  if (values['timeout-ms'] !== undefined) {
    timeoutMs = Number(values['timeout-ms']);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
      return fail(EXIT.usage, `--timeout-ms must be a positive integer, got "${values['timeout-ms']}"`);
  }

  try {
    const token = await fetchBrokerToken({
      url,
      alias,
      env,
      ...(values.region ? { region: values.region } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.credentials ? { credentials: io.credentials } : {}),
      ...(io.identify !== undefined ? { identify: io.identify } : {}),
    });
    stdout.write(render(token, values.json ? 'json' : values.env ? 'env' : 'bare'));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof BrokerClientError) return fail(EXIT_BY_CODE[error.code] ?? EXIT.other, error.message);
    // Not ours (a bug, or something thrown by an injected dependency): its message is all we can show.
    return fail(EXIT.other, `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  }
}
