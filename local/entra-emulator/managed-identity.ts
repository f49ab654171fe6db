/**
 * The App Service / Azure Functions managed-identity endpoint, as the Entra emulator plays it: what
 * `@azure/identity` (through MSAL's `AppService` source) calls when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are
 * set.
 *
 * The contract (api-version 2019-08-01; Azure/azure-sdk-for-python#11346 lists it, and
 * `@azure/msal-node` src/client/ManagedIdentitySources/AppService.ts sends exactly this):
 *   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>[&client_id=|&object_id=|&principal_id=|&mi_res_id=]
 *   X-IDENTITY-HEADER: {IDENTITY_HEADER}
 * answered with `{"access_token", "expires_on": "<unix seconds, as a string>", "resource", "token_type": "Bearer",
 * "client_id"}`. A missing or wrong header is refused with 401 (Azure/azure-sdk-for-js#11595), an unknown
 * user-assigned identity with 400 (Azure/autorest-clientruntime-for-java#630); the error body's shape is not
 * documented, so it is chosen: `{"statusCode", "message"}` (MSAL reads `message` into its error).
 *
 * Tokens are v1.0 app-only access tokens as Entra issues them to a managed identity: `iss`
 * `https://sts.windows.net/{tenant}/`, `aud` = the resource as requested, `sub` and `oid` = the identity's object
 * (principal) id, `appid` = its client id; signed with the emulator's key, so they verify against its JWKS.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import jsonwebtoken from 'jsonwebtoken';
import type { SigningKey } from './access-token';

/** A managed identity the platform can hand out. */
export interface EmulatedManagedIdentity {
  readonly tenantId: string;
  /** Object (principal) id: the token's `sub` and `oid`, what an AWS role trust lists. */
  readonly objectId: string;
  /** Client (application) id: the token's `appid`, what `client_id` selects. */
  readonly clientId: string;
  /** ARM resource id of a user-assigned identity, what `mi_res_id` selects. @default - none */
  readonly resourceId?: string;
}

export interface ManagedIdentityEndpointOptions {
  /** The value the platform sets in `IDENTITY_HEADER`; requests must send it in `X-IDENTITY-HEADER`. */
  readonly identityHeader: string;
  /**
   * The identities assigned to the "app": the first answers when the request names none (the system-assigned
   * identity), the others only when selected by `client_id`, `object_id`/`principal_id` or `mi_res_id`.
   */
  readonly identities: readonly EmulatedManagedIdentity[];
  /**
   * Resources (app ID URIs) tokens may be issued for; Entra refuses others with AADSTS500011.
   * @default - any resource
   */
  readonly resources?: readonly string[];
}

export interface ManagedIdentityCounts {
  /** Requests received on the managed-identity path (refused ones included). */
  readonly requests: number;
  /** Tokens issued. */
  readonly tokens: number;
}

/** The endpoint, mounted on the emulator's server at `path`. */
export interface ManagedIdentityEndpoint {
  /** `/msi/token`: with the emulator's base URL, the value for `IDENTITY_ENDPOINT`. */
  readonly path: string;
  readonly counts: ManagedIdentityCounts;
  resetCounters(): void;
  /** Answers one request on `path`. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export const MANAGED_IDENTITY_PATH = '/msi/token';
const API_VERSION = '2019-08-01';

/**
 * Creates the endpoint; the emulator passes its signing key, clock and token lifetime.
 * @throws TypeError without an identity header or an identity
 */
export function createManagedIdentityEndpoint(
  options: ManagedIdentityEndpointOptions,
  deps: { readonly signingKey: SigningKey; readonly now: () => number; readonly tokenLifetimeSeconds: () => number },
): ManagedIdentityEndpoint {
  if (options.identityHeader.length === 0) throw new TypeError('managedIdentity.identityHeader must be a non-empty string');
  if (options.identities.length === 0) throw new TypeError('managedIdentity.identities must list at least one identity');
  let counts = { requests: 0, tokens: 0 };

  const fail = (res: ServerResponse, status: number, message: string) => send(res, status, { statusCode: status, message });

  return {
    path: MANAGED_IDENTITY_PATH,
    get counts() {
      return { ...counts };
    },
    resetCounters: () => {
      counts = { requests: 0, tokens: 0 };
    },
    handle(req, res) {
      counts = { ...counts, requests: counts.requests + 1 };
      req.resume();
      if (req.method !== 'GET') {
        fail(res, 405, `The ${req.method ?? ''} method is not supported; use GET.`);
        return;
      }
      const header = req.headers['x-identity-header'];
      if (typeof header !== 'string' || !sameSecret(header, options.identityHeader)) {
        {
          fail(res, 401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
          return;
        }
      }
      const query = new URL(req.url ?? '/', 'http://emulator').searchParams;
      const apiVersion = query.get('api-version');
      if (apiVersion !== API_VERSION) {
        fail(res, 400, `api-version ${JSON.stringify(apiVersion)} is not supported; use ${API_VERSION}.`);
        return;
      }
      const resource = query.get('resource');
      if (!resource) {
        fail(res, 400, "The 'resource' query parameter is required.");
        return;
      }
      const identity = selectIdentity(options.identities, query);
      if (!identity) {
        fail(res, 400, 'No managed identity matches the client_id, object_id/principal_id or mi_res_id given.');
        return;
      }
      if (options.resources && !options.resources.includes(resource)) {
        // The platform relays Entra's refusal (AADSTS500011, reference-error-codes.md).
        {
          fail(
            res,
            400,
            `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${identity.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
          );
          return;
        }
      }
      const issuedAt = Math.floor(deps.now() / 1000);
      const expiresOn = issuedAt + deps.tokenLifetimeSeconds();
      const issuer = `https://sts.windows.net/${identity.tenantId}/`;
      const accessToken = jsonwebtoken.sign(
        {
          aud: resource,
          iss: issuer,
          iat: issuedAt,
          nbf: issuedAt,
          exp: expiresOn,
          aio: randomBytes(12).toString('base64url'),
          appid: identity.clientId,
          appidacr: '2',
          idp: issuer,
          idtyp: 'app',
          oid: identity.objectId,
          rh: randomBytes(12).toString('base64url'),
          sub: identity.objectId,
          tid: identity.tenantId,
          uti: randomBytes(16).toString('base64url'),
          ver: '1.0',
          ...(identity.resourceId ? { xms_mirid: identity.resourceId } : {}),
        },
        deps.signingKey.privateKey,
        { algorithm: 'RS256', keyid: deps.signingKey.kid, header: { alg: 'RS256', typ: 'JWT', kid: deps.signingKey.kid } },
      );
      counts = { ...counts, tokens: counts.tokens + 1 };
      send(res, 200, {
        access_token: accessToken,
        expires_on: String(expiresOn),
        resource,
        token_type: 'Bearer',
        client_id: identity.clientId,
      });
    },
  };
}

function selectIdentity(identities: readonly EmulatedManagedIdentity[], query: URLSearchParams): EmulatedManagedIdentity | undefined {
  const clientId = query.get('client_id');
  const objectId = query.get('object_id') ?? query.get('principal_id');
  const resourceId = query.get('mi_res_id');
  if (clientId) return identities.find((identity) => identity.clientId.toLowerCase() === clientId.toLowerCase());
  if (objectId) return identities.find((identity) => identity.objectId.toLowerCase() === objectId.toLowerCase());
  if (resourceId) return identities.find((identity) => identity.resourceId?.toLowerCase() === resourceId.toLowerCase());
  return identities[0];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}
