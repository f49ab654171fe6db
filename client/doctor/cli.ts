/**
 * `broker-doctor --issuer <url> [--subject S] [--audience A] [--client-id ID]`: checks an issuer the way Entra reads
 * it, one line per problem, and exits 0 only when Entra would accept it; then prints the federated credential's
 * values and the `az` command that creates it. Run by client/bin/broker-doctor.ts; `main` has no side effects on
 * import, so tests call it in-process too.
 */
import { parseArgs } from 'node:util';
import { CONFIG_DEFAULTS } from '../../contract/broker-config';
import { checkIssuer, credentialCommand, type IssuerCheckOptions } from './issuer-check';

/** Exit codes, stable for scripts (also listed in `--help`). */
export const DOCTOR_EXIT = { accepted: 0, problems: 1, usage: 2 } as const;

export const DOCTOR_HELP = `Usage: broker-doctor --issuer <url> [--subject S] [--audience A] [--client-id ID] [--timeout-ms N]

Checks an OpenID Connect issuer the way Microsoft Entra ID reads it for a federated identity credential:
GET <issuer>/.well-known/openid-configuration, then its jwks_uri. Prints one line per problem (and per
warning), and, when Entra would accept the issuer, the federated credential's values and the az command
that creates it.

Checks: https (http only on a loopback host, with a warning); the document's "issuer" equal to the URL
byte for byte (a trailing slash or a case difference is named); jwks_uri reachable; JSON content types;
no redirects; at least one RS256 signing key (RSA, "use": "sig"), each such key with a "kid" and a modulus of
at least 2048 bits (other keys, such as AWS's ES384 one, are warnings); no duplicate kids; at most 100 keys;
subject and audience at most 600 characters; answer times.

Options:
  --issuer <url>      the issuer URL, exactly as the assertions' "iss" (for the broker: its API base URL)
  --subject <s>       the assertions' "sub" (default: ${CONFIG_DEFAULTS.subject})
  --audience <a>      the assertions' "aud" (default: ${CONFIG_DEFAULTS.audience})
  --client-id <id>    the app registration's application (client) id, for the az command
  --timeout-ms <n>    give up on each document after n milliseconds (default 10000)
  -h, --help          show this help

Exit codes:
  0  Entra would accept the issuer (warnings may remain)
  1  at least one problem: Entra would refuse it (AADSTS90061, 7000272, 70021, ...)
  2  usage error
`;

/** Where the CLI writes and what it fetches with; tests pass their own. */
export interface DoctorIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly fetch?: IssuerCheckOptions['fetch'];
}

/**
 * Runs the CLI with `argv` (without node and script).
 * @returns the exit code (see `DOCTOR_EXIT`); never throws
 */
export async function main(argv: readonly string[], io: DoctorIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const usage = (message: string) => {
    stderr.write(`broker-doctor: ${message} (see --help)\n`);
    return DOCTOR_EXIT.usage;
  };

  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        issuer: { type: 'string' },
        subject: { type: 'string' },
        audience: { type: 'string' },
        'client-id': { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    stdout.write(DOCTOR_HELP);
    return DOCTOR_EXIT.accepted;
  }
  if (values.issuer === undefined) return usage('--issuer is required');
  let timeoutMs: number | undefined;
  if (values['timeout-ms'] !== undefined) {
    timeoutMs = Number(values['timeout-ms']);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
      return usage(`--timeout-ms must be a positive integer, got "${values['timeout-ms']}"`);
  }

  const report = await checkIssuer({
    issuer: values.issuer,
    ...(values.subject !== undefined ? { subject: values.subject } : {}),
    ...(values.audience !== undefined ? { audience: values.audience } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  for (const finding of report.findings) stdout.write(`${finding.level}: ${finding.subject}: ${oneLine(finding.message)}\n`);
  if (!report.accepted) {
    const problems = report.findings.filter((finding) => finding.level === 'problem').length;
    stdout.write(`Entra would not accept ${report.credential.issuer}: ${problems} problem${problems === 1 ? '' : 's'}.\n`);
    return DOCTOR_EXIT.problems;
  }
  const { issuer, subject, audience } = report.credential;
  const keys = report.keys.map((key) => `${key.kid} (${key.modulusBits} bits)`).join(', ');
  const times = `discovery ${report.timings.discovery ?? '?'} ms, jwks ${report.timings.jwks ?? '?'} ms`;
  stdout.write(
    `Entra would accept ${issuer}: ${report.keys.length} RS256 signing key${report.keys.length === 1 ? '' : 's'}: ${keys}; ${times}.\n` +
      `Federated credential (app registration > Certificates & secrets > Federated credentials > Other issuer):\n` +
      `  issuer:   ${issuer}\n` +
      `  subject:  ${subject}\n` +
      `  audience: ${audience}\n` +
      `${credentialCommand(report, values['client-id'] ?? '<application-client-id>')}\n`,
  );
  return DOCTOR_EXIT.accepted;
}

/** A finding's message on one line, whatever a document put into it. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- a document's text must not break or colour the line
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}
