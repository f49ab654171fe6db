/**
 * The extension's configuration: environment variables only, the function's own (Lambda gives an extension the
 * function's environment). `addIdentityEndpoint` sets all of them; a function that carries the layer without it
 * sets them itself:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `IDENTITY_ENDPOINT` | required | `http://127.0.0.1:<port>/msi/token`: the SDKs send token requests there, and the extension listens on that port |
 * | `IDENTITY_HEADER` | required | the secret the SDKs send in `X-IDENTITY-HEADER`: 16 to 512 characters from `A-Z a-z 0-9 - . _ ~ + / =` |
 * | `BROKER_URL` | required | the broker's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com` |
 * | `BROKER_IDENTITY_RESOURCES` | required | JSON object Azure resource → broker alias, e.g. `{"https://storage.azure.com": "storage"}` |
 * | `BROKER_REGION` | the region of an execute-api `BROKER_URL`, else `AWS_REGION` | the region broker requests are signed for |
 * | `AWS_LAMBDA_RUNTIME_API` | set by Lambda | where the Extensions API is |
 */
import { IDENTITY_EXTENSION_ENV } from '../../../contract/identity-endpoint-extension';
import { BrokerClientError } from '../../errors';
import { parseBaseUrl, type Env } from '../../sign-request';
import { IdentityEndpointError } from '../identity-endpoint-error';
import { parseResourceMapJson, type ResourceMap } from '../resource-map';
import { IDENTITY_PATH } from '../token-request';

export interface ExtensionConfig {
  readonly brokerUrl: string;
  readonly resources: ResourceMap;
  /** From `IDENTITY_ENDPOINT`. */
  readonly port: number;
  /** `IDENTITY_HEADER`, checked by the endpoint when it starts. */
  readonly identityHeader: string;
  readonly region: string | undefined;
}

export type ExtensionConfigResult =
  | { readonly ok: true; readonly config: ExtensionConfig }
  /** One line per variable that is missing or wrong, each naming it (never a secret's value). */
  | { readonly ok: false; readonly problems: readonly string[] };

const { identityEndpoint, identityHeader, brokerUrl, resources, region } = IDENTITY_EXTENSION_ENV;

/** Reads and checks every variable, collecting one problem per variable. */
export function readExtensionConfig(env: Env): ExtensionConfigResult {
  const problems: string[] = [];
  const required = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is not set`);
      return undefined;
    }
    return value;
  };

  const endpointValue = required(identityEndpoint);
  let port = 0;
  if (endpointValue !== undefined) {
    const parsed = parseIdentityEndpoint(endpointValue);
    if (typeof parsed === 'number') port = parsed;
    else problems.push(`${identityEndpoint} ${parsed}, got ${JSON.stringify(endpointValue)}`);
  }

  const header = required(identityHeader);

  const url = required(brokerUrl);
  if (url !== undefined) {
    try {
      parseBaseUrl(url);
    } catch (error) {
      if (!(error instanceof BrokerClientError)) throw error;
      problems.push(`${brokerUrl}: ${error.message}`);
    }
  }

  const resourcesJson = required(resources);
  let resourceMap: ResourceMap | undefined;
  if (resourcesJson !== undefined) {
    try {
      resourceMap = parseResourceMapJson(resourcesJson, resources);
    } catch (error) {
      if (!(error instanceof IdentityEndpointError)) throw error;
      problems.push(error.message.startsWith(resources) ? error.message : `${resources}: ${error.message}`);
    }
  }

  if (problems.length > 0 || url === undefined || header === undefined || resourceMap === undefined) return { ok: false, problems };
  const regionValue = env[region];
  return {
    ok: true,
    config: { brokerUrl: url, resources: resourceMap, port, identityHeader: header, region: regionValue === '' ? undefined : regionValue },
  };
}

/** The port of `http://127.0.0.1:<port>/msi/token` (or `localhost`), else what is wrong with the value. */
function parseIdentityEndpoint(value: string): number | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL: expected http://127.0.0.1:<port>${IDENTITY_PATH}`;
  }
  // The endpoint listens on 127.0.0.1 only (see identity-endpoint.ts).
  if (url.protocol !== 'http:' || (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')) {
    return `must be http://127.0.0.1:<port>${IDENTITY_PATH}: the extension listens on 127.0.0.1 only`;
  }
  if (url.pathname !== IDENTITY_PATH || url.search !== '' || url.hash !== '') return `must end in the path ${IDENTITY_PATH}, with no query`;
  const port = Number(url.port);
  // An empty port is 80 (the URL parser drops a default port): a privileged port, never this endpoint's.
  if (url.port === '' || port < 1024) return 'must name a port from 1024 to 65535';
  return port;
}
