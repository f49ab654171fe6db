/**
 * A deliberately configurable OIDC issuer on 127.0.0.1 (node:http): serves a discovery document and a JWKS that a
 * test breaks on purpose (wrong issuer, content type, status, redirect, slow or missing answers, odd keys).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';

export interface FakeIssuerDocument {
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
  /** Sent as is when a string, as JSON otherwise; undefined: the issuer's default document. */
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer. */
  hang?: boolean;
}

export interface FakeIssuer {
  readonly url: string;
  discovery: FakeIssuerDocument;
  jwks: FakeIssuerDocument;
  /** The JWKS keys served by default. */
  keys: unknown[];
  /** The issuer named in the default discovery document. @default url */
  discoveryIssuer: string | undefined;
  /** The jwks_uri named in the default discovery document. @default `${url}/jwks` */
  jwksUri: string | undefined;
  close(): Promise<void>;
}

/** The public JWK of an RSA key with a kid, `use: sig` and `alg: RS256`, as the broker publishes it. */
export function publicJwk(publicKey: KeyObject, kid: string): Record<string, unknown> {
  const { n, e } = publicKey.export({ format: 'jwk' });
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n, e };
}

export async function startFakeIssuer(keys: unknown[]): Promise<FakeIssuer> {
  const pending = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const document = path === '/.well-known/openid-configuration' ? issuer.discovery : path === '/jwks' ? issuer.jwks : undefined;
    if (!document) return void res.writeHead(404).end();
    const defaults =
      document === issuer.discovery
        ? {
            issuer: issuer.discoveryIssuer ?? issuer.url,
            jwks_uri: issuer.jwksUri ?? `${issuer.url}/jwks`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          }
        : { keys: issuer.keys };
    if (document.hang) {
      pending.add(res);
      return;
    }
    const send = () => {
      const body = typeof document.body === 'string' ? document.body : JSON.stringify(document.body ?? defaults);
      res.writeHead(document.status ?? 200, { 'content-type': document.contentType ?? 'application/json', ...document.headers }).end(body);
    };
    if (document.delayMs) setTimeout(send, document.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer: FakeIssuer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    discovery: {},
    jwks: {},
    keys,
    discoveryIssuer: undefined,
    jwksUri: undefined,
    close: async () => {
      for (const res of pending) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return issuer;
}
