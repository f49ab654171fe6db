/**
 * Reads a token request as Entra's v2.0 token endpoint does: form body, client-credentials grant with a client
 * assertion, one `<resource>/.default` scope.
 */
import { refuse } from './aadsts';
import type { EntraAppRegistration } from './options';

const CLIENT_CREDENTIALS = 'client_credentials';
const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEFAULT_SCOPE_SUFFIX = '/.default';

export interface TokenRequest {
  readonly clientId: string;
  readonly scope: string;
  readonly assertion: string;
}

/** @throws EntraRefusal AADSTS900144 / 70003 / 7000216 / 90100 for a missing or wrong parameter */
export function readTokenRequest(params: URLSearchParams): TokenRequest {
  const grantType = params.get('grant_type');
  if (!grantType) throw refuse.missingParameter('grant_type');
  if (grantType !== CLIENT_CREDENTIALS) throw refuse.unsupportedGrantType(grantType);
  const clientId = params.get('client_id');
  if (!clientId) throw refuse.missingParameter('client_id');
  const scope = params.get('scope');
  if (!scope) throw refuse.missingParameter('scope');
  const assertion = params.get('client_assertion');
  if (!assertion) throw refuse.missingClientCredential();
  const assertionType = params.get('client_assertion_type');
  if (!assertionType) throw refuse.missingParameter('client_assertion_type');
  if (assertionType !== JWT_BEARER_ASSERTION) throw refuse.invalidClientAssertionType();
  return { clientId, scope, assertion };
}

/**
 * The client-credentials scope must be exactly one `<resource>/.default`.
 * @throws EntraRefusal AADSTS1002012 (not `/.default`), 700022 (several resources), 500011 (resource not allowed)
 */
export function resourceOf(scope: string, app: EntraAppRegistration): string {
  const scopes = scope.split(/\s+/).filter((s) => s !== '');
  const notDefault = scopes.find((s) => !s.endsWith(DEFAULT_SCOPE_SUFFIX) || s === DEFAULT_SCOPE_SUFFIX);
  if (notDefault !== undefined) throw refuse.scopeNotDefault(notDefault);
  const resources = new Set(scopes.map((s) => s.slice(0, -DEFAULT_SCOPE_SUFFIX.length)));
  const [resource] = resources;
  if (resource === undefined) throw refuse.missingParameter('scope');
  if (resources.size > 1) throw refuse.multipleResources(scope);
  if (app.allowedResources && !app.allowedResources.includes(resource)) throw refuse.resourceNotFound(resource, app.tenantId);
  return resource;
}

export function parseForm(contentType: string | undefined, body: string): URLSearchParams {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded' ? new URLSearchParams(body) : new URLSearchParams();
}

/** @returns the body, or undefined when over MAX_BODY_BYTES */
