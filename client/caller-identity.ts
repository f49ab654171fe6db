/**
 * Who the caller is to AWS (STS GetCallerIdentity), looked up only after a 403 so the error can name the
 * principal that needs `execute-api:Invoke`. Best effort: any failure just leaves the message generic.
 */
import type { AwsCredentials, Env } from './sign-request';
import { signRequest } from './sign-request';

/** The subset of WHATWG fetch the client uses. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Returns the caller's ARN, or undefined when it cannot be determined. Must not throw. */
export type CallerIdentityLookup = (input: {
  region: string;
  credentials: AwsCredentials;
  signal?: AbortSignal;
}) => Promise<string | undefined>;

export interface StsCallerIdentityOptions {
  readonly fetch?: Fetch;
  /** For `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`, honoured as the AWS SDK does. Default `process.env`. */
  readonly env?: Env;
  /** Default 3000: this only decorates an error message, so it must not hold the caller up for long. */
  readonly timeoutMs?: number;
  readonly clock?: () => number;
}

function stsEndpoint(region: string, env: Env): string {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== 'true') {
    const configured = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
    if (configured) return configured;
  }
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/`;
}

/** A `CallerIdentityLookup` that signs `GetCallerIdentity` (needs no IAM permission) and reads `<Arn>` from the XML. */
export function stsCallerIdentity(options: StsCallerIdentityOptions = {}): CallerIdentityLookup {
  const { fetch: doFetch = globalThis.fetch, env = process.env, timeoutMs = 3000, clock = Date.now } = options;
  return async ({ region, credentials, signal }) => {
    try {
      const url = new URL(stsEndpoint(region, env));
      const body = 'Action=GetCallerIdentity&Version=2011-06-15';
      const headers = await signRequest({
        method: 'POST',
        url,
        region,
        service: 'sts',
        credentials,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
        now: clock(),
      });
      const timeout = AbortSignal.timeout(timeoutMs);
      const response = await doFetch(url.href, { method: 'POST', headers, body, signal: signal ? anySignal([signal, timeout]) : timeout });
      if (!response.ok) return undefined;
      const arn = /<Arn>([^<]+)<\/Arn>/.exec(await response.text())?.[1];
      return arn?.startsWith('arn:') ? arn : undefined;
    } catch {
      return undefined;
    }
  };
}

/** `AbortSignal.any` for Node 20.0–20.2, which lack it. */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true, signal: controller.signal });
  }
  return controller.signal;
}
