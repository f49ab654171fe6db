/**
 * Checks an OIDC issuer the way Microsoft Entra ID reads it for a federated credential, and says for each thing
 * Entra would refuse what it found and what it expected. Used by `broker-doctor` (./cli.ts).
 *
 * What Entra reads, and where each rule comes from:
 * - `{issuer}/.well-known/openid-configuration`, then its `jwks_uri` (azure-workload-identity
 *   docs/book/src/troubleshooting.md, AADSTS90061 "the OIDC issuer endpoint is not exposed to the internet or is
 *   inaccessible"); the document's `issuer` must equal the assertion's `iss`, and the credential's issuer byte for
 *   byte, case and trailing slash included (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations;
 *   azure-workload-identity#340: a missing trailing slash gives AADSTS70021).
 * - Issuer, subject and audience at most 600 characters; no leading or trailing whitespace in the issuer (same page).
 * - RS256 is the supported algorithm (same page): Entra verifies an assertion with the RSA key whose `kid` the
 *   assertion names, so the keys judged are the RSA ones meant for RS256 signatures (`kty` RSA, `alg` RS256 or none,
 *   `use` sig or none), which need `kid`, `n` and `e`. Other keys are reported as warnings and otherwise left alone:
 *   AWS STS's outbound-federation issuer publishes an ES384 (P-384) key next to its RS256 one, and Entra accepts it.
 *   Only the first 100 keys count (a limit Microsoft does not publish; AWS STS reads no further either,
 *   spiffe/spire#4699, so an issuer kept under it works with both).
 * - Chosen, where Entra documents nothing: redirects are not followed (serve both documents at their own URLs);
 *   a content type other than JSON is a problem (Entra reads JSON; a JSON body served as text is not what it expects);
 *   an answer slower than 1 s is a warning (Entra's own timeout is undocumented; a slow issuer meets it first).
 */
import { CONFIG_DEFAULTS } from '../../contract/broker-config';
import { federatedCredentialCreateCommand, type FederatedCredentialValues } from '../../contract/federated-credential';
import { MAX_CREDENTIAL_FIELD_LENGTH, checkIssuerUrl, isLoopbackHost } from '../../contract/url-policy';
/** Keys past this position in the JWKS are not looked at by Entra. */
export const MAX_KEYS = 100;
/** The smallest RSA modulus accepted. */
export const MIN_MODULUS_BITS = 2048;
/** An answer slower than this is reported as a warning. */
export const SLOW_ANSWER_MS = 1000;
/** The most of a document read. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export type FindingLevel = 'problem' | 'warning';

/** One thing Entra would refuse (`problem`) or that deserves a look (`warning`). */
export interface Finding {
  readonly level: FindingLevel;
  /** What was checked: `issuer`, `discovery`, `jwks`, `key <kid>`, `subject`, `audience`. */
  readonly subject: string;
  readonly message: string;
}

export interface IssuerCheckOptions {
  readonly issuer: string;
  /** @default CONFIG_DEFAULTS.subject, the broker's */
  readonly subject?: string;
  /** @default CONFIG_DEFAULTS.audience, the one Entra expects for a federated credential */
  readonly audience?: string;
  /** Each fetch gives up after this long. @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Milliseconds, for answer times. @default performance.now */
  readonly now?: () => number;
}

/** A signing key as the JWKS publishes it, once checked. */
export interface CheckedKey {
  readonly kid: string;
  readonly modulusBits: number;
}

export interface IssuerReport {
  /** True when no finding is a problem: Entra would read this issuer and find its keys. */
  readonly accepted: boolean;
  readonly findings: readonly Finding[];
  /** The keys Entra can verify assertions with. */
  readonly keys: readonly CheckedKey[];
  /** What the federated credential must hold (the client id is left to the caller). */
  readonly credential: Omit<FederatedCredentialValues, 'clientId'>;
  /** How long each document took, in ms. */
  readonly timings: Readonly<Record<'discovery' | 'jwks', number | undefined>>;
}

interface Fetched {
  readonly url: string;
  readonly json: Record<string, unknown>;
  readonly ms: number;
}

class Findings {
  readonly list: Finding[] = [];
  problem(subject: string, message: string): void {
    this.list.push({ level: 'problem', subject, message });
  }
  warning(subject: string, message: string): void {
    this.list.push({ level: 'warning', subject, message });
  }
}

/**
 * Fetches the issuer's discovery document and JWKS as Entra does and reports every problem found. Never throws:
 * network failures, timeouts and garbage are findings.
 */
export async function checkIssuer(options: IssuerCheckOptions): Promise<IssuerReport> {
  const findings = new Findings();
  const subject = options.subject ?? CONFIG_DEFAULTS.subject;
  const audience = options.audience ?? CONFIG_DEFAULTS.audience;
  const credential = { issuer: options.issuer, subject, audience };
  const timings: { discovery: number | undefined; jwks: number | undefined } = { discovery: undefined, jwks: undefined };
  const report = (keys: readonly CheckedKey[] = []): IssuerReport => ({
    accepted: !findings.list.some((finding) => finding.level === 'problem'),
    findings: findings.list,
    keys,
    credential,
    timings,
  });

  checkCredentialField(findings, 'subject', subject);
  checkCredentialField(findings, 'audience', audience);
  const issuerCheck = checkIssuerUrl(options.issuer, { allowLoopbackHttp: true, allowTrailingSlash: true });
  if (!issuerCheck.ok) {
    findings.problem('issuer', issuerCheck.problem);
    return report();
  }
  warnIfLoopbackHttp(findings, 'issuer', options.issuer, 'the issuer');

  const http = {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now: options.now ?? (() => performance.now()),
    timeoutMs: options.timeoutMs ?? 10_000,
  };
  const discoveryUrl = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetchJson(findings, 'discovery', discoveryUrl, http);
  if (!discovery) return report();
  timings.discovery = discovery.ms;
  checkDiscovery(findings, discovery.json, options.issuer);

  const jwksUri = discovery.json.jwks_uri;
  if (typeof jwksUri !== 'string' || jwksUri === '') {
    findings.problem('discovery', `${discoveryUrl} has no "jwks_uri": Entra finds the keys there`);
    return report();
  }
  if (!checkJwksUri(findings, jwksUri)) return report();
  const jwks = await fetchJson(findings, 'jwks', jwksUri, http);
  if (!jwks) return report();
  timings.jwks = jwks.ms;
  return report(checkKeys(findings, jwks.json, jwksUri));
}

/** The federated-credential command for a report's values. */
export function credentialCommand(report: IssuerReport, clientId: string): string {
  return federatedCredentialCreateCommand({ clientId, ...report.credential });
}

function checkCredentialField(findings: Findings, name: 'subject' | 'audience', value: string): void {
  if (value === '') findings.problem(name, `the ${name} is empty; Entra requires one`);
  else if (value.length > MAX_CREDENTIAL_FIELD_LENGTH) {
    findings.problem(name, `the ${name} is ${value.length} characters long; Entra allows at most ${MAX_CREDENTIAL_FIELD_LENGTH}`);
  }
}

/** Local issuers (the runtime, the emulators) serve http on loopback: fine here, never for Entra itself. */
function warnIfLoopbackHttp(findings: Findings, subject: string, value: string, what: string): void {
  const url = new URL(value);
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    findings.warning(
      subject,
      `${what} ${value} is http:// on a loopback host: fine for the local runtime and the Entra emulator, but Entra itself reads only public https URLs`,
    );
  }
}

/** The jwks_uri: https, or http on a loopback host with a warning; no query, fragment or credentials. */
function checkJwksUri(findings: Findings, value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    findings.problem('jwks', `jwks_uri ${JSON.stringify(value)} is not an absolute URL`);
    return false;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    findings.problem('jwks', `jwks_uri ${value} must be an https:// URL: Entra reads the issuer's metadata over TLS only`);
    return false;
  }
  if (url.search || url.hash || url.username || url.password) {
    findings.problem('jwks', `jwks_uri ${value} must have no query, fragment or credentials`);
    return false;
  }
  warnIfLoopbackHttp(findings, 'jwks', value, 'jwks_uri');
  return true;
}

function checkDiscovery(findings: Findings, discovery: Record<string, unknown>, issuer: string): void {
  const named = discovery.issuer;
  if (typeof named !== 'string') {
    findings.problem('discovery', `the discovery document has no "issuer"; it must be exactly ${JSON.stringify(issuer)}`);
  } else if (named !== issuer) {
    findings.problem(
      'discovery',
      `"issuer" is ${JSON.stringify(named)} but the URL is ${JSON.stringify(issuer)}: ${difference(named, issuer)}`,
    );
  }
  const algorithms = discovery.id_token_signing_alg_values_supported;
  if (Array.isArray(algorithms) && !algorithms.includes('RS256')) {
    findings.warning('discovery', `"id_token_signing_alg_values_supported" does not list RS256, the algorithm Entra supports`);
  }
}

/** Says how two issuer strings differ, in the terms a user fixes them in. */
function difference(found: string, expected: string): string {
  const compare = 'Entra compares them byte for byte';
  if (found.replace(/\/+$/, '') === expected.replace(/\/+$/, '')) {
    return `they differ by a trailing slash (${compare}; use the same spelling in the issuer URL, the document and the credential)`;
  }
  if (found.toLowerCase() === expected.toLowerCase()) return `they differ in upper/lower case (${compare})`;
  if (found.trim() === expected.trim()) return `they differ by whitespace (${compare})`;
  return `${compare}; the document must name the URL it is served under`;
}

function checkKeys(findings: Findings, jwks: Record<string, unknown>, jwksUri: string): CheckedKey[] {
  if (!Array.isArray(jwks.keys)) {
    findings.problem('jwks', `${jwksUri} has no "keys" array`);
    return [];
  }
  const all: unknown[] = jwks.keys;
  if (all.length > MAX_KEYS) {
    findings.problem('jwks', `${jwksUri} publishes ${all.length} keys; Entra looks at the first ${MAX_KEYS} only: remove retired keys`);
  }
  const seen = new Set<string>();
  const usable: CheckedKey[] = [];
  all.slice(0, MAX_KEYS).forEach((entry, index) => {
    const key = checkKey(findings, entry, index, seen);
    if (key) usable.push(key);
  });
  if (usable.length === 0) findings.problem('jwks', `${jwksUri} publishes no key Entra can verify an RS256 assertion with`);
  return usable;
}

/** Why Entra would never verify an RS256 assertion with this key, or undefined when it would. */
function notForRs256(key: Record<string, unknown>): string | undefined {
  if (key.kty !== 'RSA') return `has "kty" ${JSON.stringify(key.kty)}`;
  if (key.alg !== undefined && key.alg !== 'RS256') return `has "alg" ${JSON.stringify(key.alg)}`;
  if (key.use !== undefined && key.use !== 'sig') return `has "use" ${JSON.stringify(key.use)}`;
  return undefined;
}

function checkKey(findings: Findings, entry: unknown, index: number, seen: Set<string>): CheckedKey | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    findings.problem(`key #${index + 1}`, 'is not a JSON object');
    return undefined;
  }
  const key = entry as Record<string, unknown>;
  const kid = typeof key.kid === 'string' && key.kid !== '' ? key.kid : undefined;
  const name = kid === undefined ? `key #${index + 1}` : `key ${kid}`;
  if (kid !== undefined && seen.has(kid)) {
    findings.problem(name, 'appears twice: each "kid" must name one key');
    return undefined;
  }
  if (kid !== undefined) seen.add(kid);
  const other = notForRs256(key);
  if (other !== undefined) {
    findings.warning(
      name,
      `${other}: Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)`,
    );
    return undefined;
  }
  const problemsBefore = findings.list.length;
  const problem = (message: string) => {
    findings.problem(name, message);
  };
  if (kid === undefined) problem('has no "kid": Entra finds the signing key by the assertion\'s kid');
  if (key.use === undefined) findings.warning(name, 'has no "use"; Entra expects "sig" on a signing key');
  const modulus = base64urlBytes(key.n);
  const exponent = base64urlBytes(key.e);
  if (!modulus || !exponent) {
    problem('has no valid "n" and "e" (base64url): the RSA public key is incomplete');
    return undefined;
  }
  const bits = modulusBits(modulus);
  if (bits < MIN_MODULUS_BITS) problem(`has a ${bits}-bit modulus; use at least ${MIN_MODULUS_BITS} bits`);
  const ok = !findings.list.slice(problemsBefore).some((finding) => finding.level === 'problem');
  return ok && kid !== undefined ? { kid, modulusBits: bits } : undefined;
}

function base64urlBytes(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length > 0 ? bytes : undefined;
}

function modulusBits(modulus: Uint8Array): number {
  let start = 0;
  while (start < modulus.length - 1 && modulus[start] === 0) start++;
  const first = modulus[start] ?? 0;
  return (modulus.length - start - 1) * 8 + (first === 0 ? 0 : Math.floor(Math.log2(first)) + 1);
}

interface Http {
  readonly fetch: (input: string, init?: RequestInit) => Promise<Response>;
  readonly now: () => number;
  readonly timeoutMs: number;
}

/** GET as Entra does: no redirect followed, a JSON object with a JSON content type, within the timeout. */
async function fetchJson(findings: Findings, subject: 'discovery' | 'jwks', url: string, http: Http): Promise<Fetched | undefined> {
  const started = http.now();
  let response: Response;
  let text: string;
  try {
    response = await http.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(http.timeoutMs),
    });
    text = await readBounded(response);
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    findings.problem(
      subject,
      `GET ${url}: ${timedOut ? `no answer within ${http.timeoutMs} ms` : `failed (${reason(error)})`}; Entra must reach it`,
    );
    return undefined;
  }
  const ms = Math.round(http.now() - started);
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    findings.problem(
      subject,
      `GET ${url} answered HTTP ${response.status}${location ? ` (to ${location})` : ''}: serve the document at this URL, without a redirect`,
    );
    return undefined;
  }
  if (response.status !== 200) {
    findings.problem(subject, `GET ${url} answered HTTP ${response.status}; Entra needs 200`);
    return undefined;
  }
  if (ms > SLOW_ANSWER_MS) findings.warning(subject, `GET ${url} took ${ms} ms; Entra reads it on a token request, so keep it fast`);
  const type = response.headers.get('content-type') ?? '';
  const mediaType = type.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    findings.problem(subject, `GET ${url} answered Content-Type ${JSON.stringify(type)}; serve it as application/json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    findings.problem(subject, `GET ${url} did not answer JSON`);
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    findings.problem(subject, `GET ${url} did not answer a JSON object`);
    return undefined;
  }
  return { url, json: json as Record<string, unknown>, ms };
}

async function readBounded(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel();
      throw new Error(`the document exceeds ${MAX_DOCUMENT_BYTES} bytes`);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
