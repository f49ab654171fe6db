/**
 * How the emulator reads an issuer's keys, as Entra does: `{iss}/.well-known/openid-configuration`, its `issuer`
 * byte-equal to `iss`, then its `jwks_uri`, then the key named by the assertion's `kid`.
 *
 * - Sources: azure-workload-identity docs/book/src/troubleshooting.md (90061 when "the OIDC issuer endpoint is not
 *   exposed to the internet or is inaccessible"; its check is `curl {issuer}/.well-known/openid-configuration` then
 *   the JWKS), #1232 (7000272 for a kid missing from "the metadata of identity provider").
 * - Keys: RSA (`kty`, `n`, `e`), found by `kid`. Only the first 100 keys of the set are looked at (Entra's limit as
 *   issue 12 lists it; no public Entra text found, so the emulator is as strict as the broker must be anyway). A key
 *   whose `use` is given and is not `sig` is not a signing key (RFC 7517 §4.2) and is skipped; a key without `use` is
 *   accepted (chosen: the more lenient reading, as Entra's own check is undocumented).
 * - Caching: Entra does not document how long it keeps an issuer's metadata. By default the emulator fetches both
 *   documents for every assertion (a rotation is seen at once); with `cacheSeconds` it keeps them that long, and
 *   refetches early on an unknown kid only with `refetchOnUnknownKid` (the strict variant, without, is what a key
 *   rotation must survive: publish first, sign later).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { refuse } from './aadsts';

/** Keys beyond this position in the JWKS are not looked at. */
export const MAX_ISSUER_KEYS = 100;

export interface IssuerMetadataCacheOptions {
  /** How long discovery and JWKS are kept once read. */
  readonly seconds: number;
  /** Read them again at once when a kid is not among the cached keys. */
  readonly refetchOnUnknownKid: boolean;
}

export interface IssuerFetch {
  readonly nowMs: number;
  /** Upper bound for each discovery/JWKS fetch. */
  readonly fetchTimeoutMs: number;
  /** Aborts in-flight fetches when the emulator closes. */
  readonly signal: AbortSignal;
}

interface IssuerMetadata {
  readonly fetchedAtMs: number;
  readonly jwksUri: string;
  readonly keys: readonly Record<string, unknown>[];
}

/** Reads (and, when configured, caches) issuers' metadata; counts every document fetched. */
export class IssuerKeys {
  private readonly cache = new Map<string, IssuerMetadata>();
  private fetched = 0;

  constructor(private readonly caching?: IssuerMetadataCacheOptions) {}

  /** Discovery and JWKS documents fetched so far (each counts one). */
  get fetches(): number {
    return this.fetched;
  }

  /**
   * The public key named `kid` for `issuer`.
   * @throws EntraRefusal AADSTS90061 (unreachable, not JSON, discovery `issuer` not byte-equal to `iss`, no jwks_uri) or
   *   AADSTS7000272 (kid not among the first 100 signing keys, or not a usable RSA key)
   */
  async key(issuer: string, kid: string, request: IssuerFetch): Promise<KeyObject> {
    let metadata = this.cached(issuer, request.nowMs);
    let jwk = metadata && findKey(metadata.keys, kid);
    if (!jwk && (!metadata || this.caching?.refetchOnUnknownKid)) {
      metadata = await this.read(issuer, request);
      jwk = findKey(metadata.keys, kid);
    }
    if (!metadata || !jwk) {
      throw refuse.signingKeyNotFound(
        kid,
        issuer,
        `${metadata?.jwksUri ?? 'the JWKS'} publishes no signing key with this kid among its first ${MAX_ISSUER_KEYS}`,
      );
    }
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${String(key.asymmetricKeyType)} key`);
      return key;
    } catch (error) {
      throw refuse.signingKeyNotFound(kid, issuer, `the published key is not a usable RSA key (${errorText(error)})`);
    }
  }

  private cached(issuer: string, nowMs: number): IssuerMetadata | undefined {
    if (!this.caching) return undefined;
    const entry = this.cache.get(issuer);
    return entry && nowMs - entry.fetchedAtMs < this.caching.seconds * 1000 ? entry : undefined;
  }

  private async read(issuer: string, request: IssuerFetch): Promise<IssuerMetadata> {
    const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const discovery = await this.fetchJsonObject(discoveryUrl, request);
    if (discovery.issuer !== issuer) {
      throw refuse.externalOidcEndpointFailed(
        `discovery document at ${discoveryUrl} names issuer ${JSON.stringify(discovery.issuer)}, the assertion names ${JSON.stringify(issuer)}`,
      );
    }
    if (typeof discovery.jwks_uri !== 'string')
      throw refuse.externalOidcEndpointFailed(`discovery document at ${discoveryUrl} has no jwks_uri`);
    const jwks = await this.fetchJsonObject(discovery.jwks_uri, request);
    const keys = (Array.isArray(jwks.keys) ? jwks.keys : []).slice(0, MAX_ISSUER_KEYS).filter(isRecord);
    const metadata = { fetchedAtMs: request.nowMs, jwksUri: discovery.jwks_uri, keys };
    if (this.caching) this.cache.set(issuer, metadata);
    return metadata;
  }

  private async fetchJsonObject(url: string, request: IssuerFetch): Promise<Record<string, unknown>> {
    this.fetched += 1;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.any([AbortSignal.timeout(request.fetchTimeoutMs), request.signal]),
      });
    } catch (error) {
      throw refuse.externalOidcEndpointFailed(`GET ${url} failed: ${errorText(error)}`);
    }
    if (response.status !== 200) throw refuse.externalOidcEndpointFailed(`GET ${url} answered HTTP ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw refuse.externalOidcEndpointFailed(`GET ${url} did not answer JSON`);
    }
    if (!isRecord(body)) throw refuse.externalOidcEndpointFailed(`GET ${url} did not answer a JSON object`);
    return body;
  }
}

/** The signing key with this kid: `use` absent or `sig`. */
function findKey(keys: readonly Record<string, unknown>[], kid: string): Record<string, unknown> | undefined {
  return keys.find((key) => key.kid === kid && (key.use === undefined || key.use === 'sig'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
