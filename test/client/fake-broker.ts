/**
 * A broker-shaped HTTP server on 127.0.0.1 for client tests: it checks SigV4 with the local verifier (403
 * `{"message":"Forbidden"}` on failure, as API Gateway's IAM authorization) and answers by alias. It also plays
 * STS GetCallerIdentity under `/sts/`, so the `forbidden` message's principal lookup runs for real.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4Request } from '../../local/runtime/sigv4-verifier';

export const ACCESS_KEY_ID = 'AKIAFAKEBROKERTEST01';
export const SECRET_ACCESS_KEY = 'fake/secret+Key0123456789abcdefghijklmnop';
export const REGION = 'eu-west-1';
export const CALLER_ARN = 'arn:aws:sts::123456789012:assumed-role/app-role/i-0abc';

/** Every token the fake issues starts with this, so tests can assert it never leaks into errors. */
export const TOKEN_PREFIX = 'eyFAKE-ACCESS-TOKEN';

export interface FakeBrokerOptions {
  /** Token lifetime in seconds (default 3600). */
  readonly lifetimeSeconds?: number;
  /** Server clock in ms for `expires_on` and the signature's date check (default Date.now). */
  readonly now?: () => number;
  /** Delay before answering a token request, ms (default 0). */
  readonly delayMs?: number;
  /** Path prefix the token route lives under, e.g. `/v1` (default none). */
  readonly basePath?: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly alias: string | undefined;
  readonly verdict: string;
  readonly headers: IncomingMessage['headers'];
}

export interface FakeBroker {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Token requests that passed the signature check, for one alias. */
  tokenRequests(alias: string): number;
  /** Makes the next `n` token requests for `alias` answer 503. */
  failNext(alias: string, n?: number): void;
  /**
   * Holds every token request that passed the signature check until `release()`: `arrived` resolves once the
   * first one is held, so a test acts while a request is in flight without guessing how long it takes.
   */
  hold(): { readonly arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  response.end(text);
}

export async function startFakeBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const { lifetimeSeconds = 3600, now = Date.now, delayMs = 0, basePath = '' } = options;
  const requests: RecordedRequest[] = [];
  const served = new Map<string, number>();
  const failing = new Map<string, number>();
  let gate: { arrive(): void; released: Promise<void> } | undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = request.url ?? '/';
    const at = target.indexOf('?');
    const path = at === -1 ? target : target.slice(0, at);
    const query = at === -1 ? '' : target.slice(at + 1);
    const method = request.method ?? 'GET';
    const isSts = method === 'POST' && path === '/sts/';
    const verdict = verifySigV4Request(
      { method, path, query, headers: request.headers, body },
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: REGION, service: isSts ? 'sts' : 'execute-api', now },
    );
    const match = new RegExp(`^${basePath}/token/([^/]+)$`).exec(path);
    const alias = match?.[1] !== undefined ? decodeURIComponent(match[1]) : undefined;
    requests.push({ method, path, alias, verdict: verdict.ok ? 'ok' : verdict.reason, headers: request.headers });

    if (isSts) {
      if (!verdict.ok) return send(response, 403, '<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>');
      response.writeHead(200, { 'content-type': 'text/xml' });
      return response.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${CALLER_ARN}</Arn><UserId>AROAEXAMPLE:i-0abc</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
      );
    }
    if (method !== 'GET' || alias === undefined) return send(response, 404, { message: 'Not Found' });
    if (!verdict.ok) return send(response, 403, { message: 'Forbidden' });

    const n = (served.get(alias) ?? 0) + 1;
    served.set(alias, n);
    // `slow` never answers: the client's own timeout or abort is the only way out, however loaded the machine.
    if (alias === 'slow') return new Promise<void>((resolve) => response.once('close', resolve));
    if (gate) {
      gate.arrive();
      await gate.released;
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const failures = failing.get(alias) ?? 0;
    if (failures > 0) {
      failing.set(alias, failures - 1);
      return send(response, 503, { error: 'upstream_unavailable', message: 'Entra ID did not answer in time.', upstream: 'entra' });
    }
    switch (alias) {
      case 'missing':
        return send(response, 404, {
          error: 'unknown_scope',
          message:
            'No scope is configured under the alias "missing". Check the alias against the token URLs of the deployment (its stack outputs).',
          alias,
        });
      case 'rejected':
        return send(response, 502, {
          error: 'entra_rejected',
          message: 'Entra ID refused the client assertion: no federated credential matches its issuer and subject.',
          entra_error: 'invalid_client',
          aadsts: 'AADSTS700213',
          error_codes: [700213],
          correlation_id: '0b1c2d3e-0000-4000-8000-000000000001',
          trace_id: '7f8e9d0c-0000-4000-8000-000000000002',
        });
      case 'down':
        return send(response, 503, {
          error: 'upstream_unavailable',
          message: 'KMS is throttling; retry shortly.',
          upstream: 'kms',
          retry_after_seconds: 5,
        });
      case 'crash':
        return send(response, 500, { error: 'internal', message: 'The broker failed unexpectedly; see its logs for the request id.' });
      case 'notjson':
        return send(response, 200, `<html>${TOKEN_PREFIX}-in-html</html>`);
      case 'partial':
        return send(response, 200, {
          access_token: `${TOKEN_PREFIX}-partial`,
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'https://x/.default',
        });
      default: {
        const expiresOn = Math.floor(now() / 1000) + lifetimeSeconds;
        return send(
          response,
          200,
          {
            access_token: `${TOKEN_PREFIX}-${alias}-${n}`,
            token_type: 'Bearer',
            expires_in: lifetimeSeconds,
            expires_on: expiresOn,
            scope: `https://${alias}.example/.default`,
          },
          { 'cache-control': 'no-store' },
        );
      }
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => send(response, 500, { message: 'fake broker failed' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    requests,
    tokenRequests: (alias) => requests.filter((r) => r.alias === alias && r.verdict === 'ok').length,
    failNext: (alias, n = 1) => void failing.set(alias, n),
    hold: () => {
      let arrive = () => {};
      let release = () => {};
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      gate = { arrive, released };
      return {
        arrived,
        release: () => {
          gate = undefined;
          release();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released), for connection-refused tests. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
