/**
 * What the identity endpoint's Lambda extension (client/identity-endpoint/extension/) and the construct that adds it
 * to a function (lib/identity-endpoint.ts) agree on: the layer's layout, the port, and the function's environment.
 */

/**
 * The extension's file name under `extensions/` in the layer, which Lambda runs from `/opt/extensions/` and which the
 * extension registers as (`Lambda-Extension-Name` must be that file name); also the folder of its own files.
 */
export const IDENTITY_EXTENSION_NAME = 'broker-identity-endpoint';

/** The loopback port the extension listens on unless `addIdentityEndpoint` is given another. */
export const IDENTITY_EXTENSION_DEFAULT_PORT = 41991;

/** The function's environment variables: the Azure SDKs read the first two, the extension all of them. */
export const IDENTITY_EXTENSION_ENV = {
  /** `http://127.0.0.1:<port>/msi/token`: where the SDKs send token requests, and the port the extension listens on. */
  identityEndpoint: 'IDENTITY_ENDPOINT',
  /** The secret the SDKs send in `X-IDENTITY-HEADER`, which the extension requires. */
  identityHeader: 'IDENTITY_HEADER',
  /** The broker's base URL. */
  brokerUrl: 'BROKER_URL',
  /** JSON object Azure resource → broker alias, e.g. `{"https://storage.azure.com": "storage"}`. */
  resources: 'BROKER_IDENTITY_RESOURCES',
  /** Optional: the region to sign broker requests for, when the broker URL is a custom domain in another region. */
  region: 'BROKER_REGION',
} as const;
