import { JWKS_PATH } from '../../contract/http-api';
import type { PublishedJwk } from '../../contract/key-rotation-state';

/** Entra re-reads these when it sees an unknown kid; an hour keeps load low and lets a new key appear quickly. */
export const DISCOVERY_CACHE_CONTROL = 'public, max-age=3600';

/** The claims every client assertion carries: Entra checks iss, sub, aud and the times; jti makes each one unique. */
export const ASSERTION_CLAIMS = ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'] as const;

export interface DiscoveryDocument {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly response_types_supported: readonly string[];
  readonly subject_types_supported: readonly string[];
  readonly id_token_signing_alg_values_supported: readonly string[];
  readonly claims_supported: readonly string[];
}

/** The OpenID discovery document for `issuer` (no trailing slash; equal to the assertions' `iss`). */
export function discoveryDocument(issuer: string): DiscoveryDocument {
  return {
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: [...ASSERTION_CLAIMS],
  };
}

/** The JWKS: every published key, active first. Duplicate kids (the same key listed twice) appear once. */
export function jwksDocument(keys: readonly PublishedJwk[]): { keys: PublishedJwk[] } {
  const seen = new Set<string>();
  return { keys: keys.filter((key) => !seen.has(key.kid) && seen.add(key.kid)) };
}
