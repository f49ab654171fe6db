/**
 * SigV4 signing of broker requests (`GET {baseUrl}/token/{alias}`, service `execute-api`), with the AWS SDK's own
 * signer so that whatever API Gateway accepts from the SDK it accepts from us.
 */
import type { Sha256 as Sha256Type } from '@aws-crypto/sha256-js';
import type { SignatureV4 as SignatureV4Type } from '@smithy/signature-v4';
import { AWS_REGION_PATTERN } from '../contract/aws-region';
import { checkBrokerBaseUrl } from '../contract/url-policy';
import { tokenPath } from '../contract/http-api';
import { BrokerClientError } from './errors';

/** Static AWS credentials, as the SDK's providers resolve them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Anything that resolves credentials, e.g. `fromNodeProviderChain()` or `fromIni({ profile })`. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** Credentials to sign with: a provider (refreshed by the provider itself) or a fixed set. */
export type CredentialsSource = AwsCredentials | AwsCredentialsProvider;

/** Environment variables consulted for the region fallback (`process.env` by default). */
export type Env = Readonly<Record<string, string | undefined>>;

let defaultChain: AwsCredentialsProvider | undefined;

/**
 * The AWS SDK default chain (env, SSO/profile, web identity, ECS, EC2 IMDS), created once and shared: the chain
 * memoizes and refreshes credentials itself, so one instance per process is what the SDK clients do too.
 * Imported lazily so `broker-token --help` does not load the SDK.
 */
export function defaultCredentialsProvider(): AwsCredentialsProvider {
  defaultChain ??= (() => {
    let chain: Promise<AwsCredentialsProvider> | undefined;
    return async () => {
      chain ??= import('@aws-sdk/credential-providers').then(({ fromNodeProviderChain }) => fromNodeProviderChain());
      return (await chain)();
    };
  })();
  return defaultChain;
}

/**
 * Resolves credentials from `source`.
 * @throws BrokerClientError `credentials_unavailable` naming `url`, with the provider's message (providers say
 *   which sources they tried and e.g. that an SSO session expired; they never include secret values)
 */
export async function resolveCredentials(source: CredentialsSource, url: string): Promise<AwsCredentials> {
  let credentials: AwsCredentials;
  try {
    credentials = typeof source === 'function' ? await source() : source;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new BrokerClientError(
      'credentials_unavailable',
      `Cannot get AWS credentials to sign the request to ${url}: ${why}`,
      { url },
      { cause: error },
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a custom provider may return anything
  if (!credentials || typeof credentials.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
    throw new BrokerClientError(
      'credentials_unavailable',
      `The AWS credentials provider returned no access key to sign the request to ${url}.`,
      { url },
    );
  }
  return credentials;
}

/**
 * Parses the broker base URL (`https://{apiId}.execute-api.{region}.amazonaws.com`, or a custom domain with an
 * optional base path) under the project's URL policy (contract/url-policy.ts): https, or http on loopback only.
 * @throws BrokerClientError `invalid_argument` naming the URL and what is wrong with it
 */
export function parseBaseUrl(url: string): URL {
  const check = checkBrokerBaseUrl(url);
  if (!check.ok) throw new BrokerClientError('invalid_argument', `The broker URL is not usable: ${check.problem}.`, { url });
  return new URL(check.value);
}

// `{apiId}.execute-api.{region}.amazonaws.com[.cn]` and the private-API form `{apiId}-{vpceId}.execute-api.{region}.vpce.amazonaws.com`.
const EXECUTE_API_HOST = /^([a-z0-9]+)(?:-vpce-[a-z0-9]+)?\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/** The API id and region of an `execute-api` host name, or undefined for a custom domain. */
export function parseExecuteApiHost(hostname: string): { apiId: string; region: string } | undefined {
  const match = EXECUTE_API_HOST.exec(hostname.toLowerCase());
  return match?.[1] && match[2] ? { apiId: match[1], region: match[2] } : undefined;
}

/**
 * The region to sign for: `explicit`, else the one in an `execute-api` host name, else `AWS_REGION` /
 * `AWS_DEFAULT_REGION`. The URL beats the environment because the environment holds the *workload's* region,
 * and a workload may call a broker in another region. The region must look like one (`eu-west-1`): it becomes part
 * of the STS host name a 403 is explained with (`sts.{region}.amazonaws.com`), so a value such as
 * `attacker.example/` would send a signed request to someone else's host.
 * @throws BrokerClientError `invalid_argument` when none of these gives a region, or the one chosen is not a region name
 */
export function resolveRegion(url: URL, explicit?: string, env: Env = process.env): string {
  const candidates: ReadonlyArray<readonly [string, string | undefined]> = [
    ['--region', explicit],
    [url.host, parseExecuteApiHost(url.hostname)?.region],
    ['AWS_REGION', env.AWS_REGION],
    ['AWS_DEFAULT_REGION', env.AWS_DEFAULT_REGION],
  ];
  const chosen = candidates.find(([, value]) => value);
  if (!chosen) {
    throw new BrokerClientError('invalid_argument', `Cannot tell the region of ${url.href}: pass --region or set AWS_REGION.`, {
      url: url.href,
    });
  }
  const [source, region] = chosen as readonly [string, string];
  if (!AWS_REGION_PATTERN.test(region)) {
    throw new BrokerClientError(
      'invalid_argument',
      `The region from ${source} is not an AWS region name such as eu-west-1 (received ${JSON.stringify(region.slice(0, 64))}); nothing was sent.`,
      { url: url.href },
    );
  }
  return region;
}

/**
 * `{base}/token/{alias}`: keeps a base path (custom-domain mapping or stage) without doubling slashes, and
 * percent-encodes the alias as one path segment.
 * @throws BrokerClientError `invalid_argument` for an empty alias
 */
export function tokenUrl(base: URL, alias: string): URL {
  if (alias.length === 0) {
    throw new BrokerClientError(
      'invalid_argument',
      `The alias is empty; pass the alias of the scope to get a token for (broker ${base.href}).`,
      { url: base.href },
    );
  }
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${base.origin}${prefix}${tokenPath(alias)}`);
}

export interface SignRequestInput {
  readonly method: string;
  readonly url: URL;
  readonly region: string;
  readonly service: string;
  readonly credentials: AwsCredentials;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Signing time in ms since the epoch. */
  readonly now: number;
}

let signerModules: Promise<{ SignatureV4: typeof SignatureV4Type; Sha256: typeof Sha256Type }> | undefined;

/** The signer's packages, loaded on the first signature (about 150 ms), so a CLI or server starts without them. */
function loadSigner() {
  signerModules ??= Promise.all([import('@smithy/signature-v4'), import('@aws-crypto/sha256-js')]).then(([signature, sha]) => ({
    SignatureV4: signature.SignatureV4,
    Sha256: sha.Sha256,
  }));
  return signerModules;
}

/**
 * Signs a request (whose URL has no query string) with SigV4 (`@smithy/signature-v4`: path double-encoding as for every non-S3 service,
 * `x-amz-content-sha256`, `x-amz-security-token` when there is a session token).
 * @returns the headers to send, without `host`: fetch sets it from the URL to the same value that was signed
 */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const { url } = input;
  const { SignatureV4, Sha256 } = await loadSigner();
  const signer = new SignatureV4({ service: input.service, region: input.region, credentials: input.credentials, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      // The path exactly as it goes on the wire (already percent-encoded); the signer encodes it once more.
      path: url.pathname,
      // Broker and STS requests carry no query string (parseBaseUrl refuses one), so there is none to sign.
      query: {},
      // `url.host` omits a default port, as the Host header fetch sends does.
      headers: { ...input.headers, host: url.host },
      ...(input.body !== undefined ? { body: input.body } : {}),
    },
    { signingDate: new Date(input.now) },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name] = value;
  }
  return headers;
}
