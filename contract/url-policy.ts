/**
 * The one policy for the URLs the broker configures or calls, shared by the CDK construct, the functions, the
 * local runtime and the client. Each rule says why it exists; every refusal names the value received.
 */
import { describeValue } from './config-error';

/** Entra's limit on a federated credential's issuer (and subject and audience). */
export const MAX_CREDENTIAL_FIELD_LENGTH = 600;

/** True for `localhost`, `127.0.0.0/8` and `::1` (with or without brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface UrlRuleOptions {
  /** Accept `http://` on a loopback host (the local runtime and tests only). @default false */
  readonly allowLoopbackHttp?: boolean;
}

export interface IssuerUrlOptions extends UrlRuleOptions {
  /**
   * Accept a trailing slash: other issuers have one (AKS's, Entra's v1 `https://sts.windows.net/{tenant}/`), and
   * `broker-doctor` checks those too. The broker's own issuer never has one.
   * @default false
   */
  readonly allowTrailingSlash?: boolean;
}

/** A checked URL, or why it was refused. */
export type UrlCheck = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

function parse(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function schemeProblem(url: URL, options: UrlRuleOptions, why: string): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    return options.allowLoopbackHttp ? undefined : `http:// is allowed only for loopback hosts in the local runtime (${why})`;
  }
  return `expected an https:// URL (${why})`;
}

/**
 * The issuer: the `iss` of every client assertion and the base of the discovery document. Entra compares the
 * federated credential's issuer with `iss` byte for byte and fetches `{issuer}/.well-known/openid-configuration`,
 * so the value is kept exactly as given and a trailing slash is refused rather than silently dropped (dropping it
 * would break a credential registered with the slash). A base path (custom domain mapping) is allowed. Leading or
 * trailing whitespace, which the URL parser would silently drop, is refused: Entra blocks such an issuer
 * (learn.microsoft.com, workload identity federation considerations).
 */
export function checkIssuerUrl(value: unknown, options: IssuerUrlOptions = {}): UrlCheck {
  if (typeof value === 'string' && value !== value.trim()) {
    return {
      ok: false,
      problem: `expected no leading or trailing whitespace (Entra blocks such an issuer), received ${describeValue(value)}`,
    };
  }
  const url = parse(value);
  if (url === undefined || typeof value !== 'string')
    return { ok: false, problem: `expected an absolute https:// URL, received ${describeValue(value)}` };
  const scheme = schemeProblem(url, options, 'Entra fetches the discovery document over TLS');
  if (scheme) return { ok: false, problem: `${scheme}, received ${describeValue(value)}` };
  if (url.search || url.hash || url.username || url.password || value.includes('?') || value.includes('#')) {
    return { ok: false, problem: `expected no query, fragment or credentials, received ${describeValue(value)}` };
  }
  if (value.endsWith('/') && !options.allowTrailingSlash) {
    return {
      ok: false,
      problem: `expected no trailing slash (Entra compares the credential's issuer with the assertion's iss byte for byte), received ${describeValue(value)}`,
    };
  }
  if (value.length > MAX_CREDENTIAL_FIELD_LENGTH) {
    return { ok: false, problem: `expected at most ${MAX_CREDENTIAL_FIELD_LENGTH} characters (Entra's limit), received ${value.length}` };
  }
  return { ok: true, value };
}

/**
 * The Entra authority host (`https://login.microsoftonline.com`, a sovereign cloud's, or the local emulator's): a
 * bare origin. It is only ever called, never compared, so it is normalised to its origin (no trailing slash).
 */
export function checkAuthorityHost(value: unknown, options: UrlRuleOptions = {}): UrlCheck {
  const url = parse(value);
  if (url === undefined) {
    return { ok: false, problem: `expected a URL such as https://login.microsoftonline.com, received ${describeValue(value)}` };
  }
  const scheme = schemeProblem(url, options, 'tokens and client assertions travel over it');
  if (scheme) return { ok: false, problem: `${scheme}, received ${describeValue(value)}` };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    return { ok: false, problem: `expected a bare origin with no path, query or credentials, received ${describeValue(value)}` };
  }
  return { ok: true, value: url.origin };
}

/**
 * A broker base URL a client calls (`https://{apiId}.execute-api.{region}.amazonaws.com`, or a custom domain with
 * an optional base path). `http://` only on loopback (the local runtime): elsewhere the signed request and the
 * token in the answer would cross the network in clear. Normalised without trailing slashes, so joining
 * `/token/{alias}` never doubles one.
 */
export function checkBrokerBaseUrl(value: unknown): UrlCheck {
  const url = parse(value);
  if (url === undefined) {
    return {
      ok: false,
      problem: `expected the broker's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com, received ${describeValue(value)}`,
    };
  }
  const scheme = schemeProblem(url, { allowLoopbackHttp: true }, 'the answer carries an access token');
  if (scheme) return { ok: false, problem: `${scheme}, received ${describeValue(value)}` };
  if (url.search || url.hash || url.username || url.password) {
    return { ok: false, problem: `expected a base URL without query, fragment or user info, received ${describeValue(value)}` };
  }
  return { ok: true, value: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/** A local service endpoint (DynamoDB Local): http(s), any host, no path, query or credentials. */
export function checkServiceEndpoint(value: unknown): UrlCheck {
  const url = parse(value);
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    return { ok: false, problem: `expected an http(s):// URL such as http://127.0.0.1:8000, received ${describeValue(value)}` };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    return { ok: false, problem: `expected a bare origin with no path, query or credentials, received ${describeValue(value)}` };
  }
  return { ok: true, value: url.origin };
}
