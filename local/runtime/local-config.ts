import { readFile } from 'node:fs/promises';
import { validateBrokerConfig, type BrokerConfig } from '../../contract/broker-config';
import { ConfigError, describeValue, isPlainObject } from '../../contract/config-error';
import { AWS_REGION_PATTERN } from '../../contract/aws-region';
import { checkIssuerUrl, checkServiceEndpoint, isLoopbackHost } from '../../contract/url-policy';

/** The local runtime's configuration: the broker schema plus the local-only fields (docs/local-runtime.md). */
export interface LocalConfig {
  readonly broker: BrokerConfig;
  /** @default - http://127.0.0.1:{port} */
  readonly issuer: string | undefined;
  /** @default - a key generated once under .local/ */
  readonly signingKeyFile: string | undefined;
  /** @default - a key generated once (atomically) under .local/ */
  readonly sealingKeyFile: string | undefined;
  /**
   * With `signingKeyDir`: the key the rotation state's MAC is made with (the local stand-in for the deployment's KMS
   * HMAC key), shared by the processes that share a table. @default - a key generated once (atomically) under .local/
   */
  readonly rotationStateKeyFile: string | undefined;
  /**
   * With it, the runtime rotates its signing keys (`keyRotation`): PEM files in this folder, shared by the processes
   * that share a table. @default - one fixed key (`signingKeyFile`), no rotation
   */
  readonly signingKeyDir: string | undefined;
  /** @default - tokens are cached in memory */
  readonly dynamodbEndpoint: string | undefined;
  readonly tableName: string;
  readonly region: string;
  /** @default - /token/* is open, with a warning */
  readonly localCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

export const LOCAL_FIELDS = [
  'issuer',
  'signingKeyFile',
  'sealingKeyFile',
  'rotationStateKeyFile',
  'signingKeyDir',
  'dynamodbEndpoint',
  'tableName',
  'region',
  'localCredentials',
] as const;
export const DEFAULT_TABLE_NAME = 'broker-token-cache';
export const DEFAULT_REGION = 'us-east-1';

function optionalString(field: string, value: unknown, problems: string[], pattern?: RegExp): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0 && (!pattern || pattern.test(value))) return value;
  problems.push(
    `${field}: expected ${pattern ? `a string matching ${pattern.source}` : 'a non-empty string'}, received ${describeValue(value)}`,
  );
  return undefined;
}

/**
 * Validates a local runtime configuration object.
 * @throws ConfigError naming every bad field, broker and local ones together
 */
export function parseLocalConfig(raw: unknown, source = 'local runtime configuration'): LocalConfig {
  const result = validateBrokerConfig(raw, {
    allowLoopbackHttp: true,
    anyPositiveRotation: true,
    localRefreshTimer: true,
    extraFields: LOCAL_FIELDS,
    source,
  });
  const problems = [...result.problems];
  const fields = isPlainObject(raw) ? raw : {};

  let issuer: string | undefined;
  if (fields.issuer !== undefined) {
    const check = checkIssuerUrl(fields.issuer, { allowLoopbackHttp: true });
    if (check.ok) issuer = check.value;
    else problems.push(`issuer: ${check.problem}`);
  }
  let dynamodbEndpoint: string | undefined;
  if (fields.dynamodbEndpoint !== undefined) {
    const check = checkServiceEndpoint(fields.dynamodbEndpoint);
    if (check.ok) dynamodbEndpoint = check.value;
    else problems.push(`dynamodbEndpoint: ${check.problem}`);
  }
  const signingKeyFile = optionalString('signingKeyFile', fields.signingKeyFile, problems);
  if (result.config?.runtime.signer === 'aws-sts') problems.push(...awsStsProblems(fields, issuer));
  const sealingKeyFile = optionalString('sealingKeyFile', fields.sealingKeyFile, problems);
  const signingKeyDir = optionalString('signingKeyDir', fields.signingKeyDir, problems);
  const rotationStateKeyFile = optionalString('rotationStateKeyFile', fields.rotationStateKeyFile, problems);
  if (rotationStateKeyFile !== undefined && signingKeyDir === undefined) {
    problems.push(
      `rotationStateKeyFile: applies with signingKeyDir only (the rotation's state is what it authenticates), received ${describeValue(rotationStateKeyFile)} without it`,
    );
  }
  if (signingKeyDir !== undefined && signingKeyFile !== undefined) {
    problems.push(
      `signingKeyFile: not with signingKeyDir (received both, ${describeValue(signingKeyFile)} and ${describeValue(signingKeyDir)}): the rotation creates its own keys in signingKeyDir`,
    );
  }
  if (fields.keyRotation !== undefined && signingKeyDir === undefined) {
    problems.push('signingKeyDir: required with keyRotation locally (the folder the rotation keeps its PEM keys in), received nothing');
  }
  if (signingKeyDir !== undefined && fields.signer !== undefined && fields.signer !== 'kms') {
    problems.push(`signingKeyDir: applies to the "kms" signer only, received it with signer ${describeValue(fields.signer)}`);
  }
  const tableName = optionalString('tableName', fields.tableName, problems, /^[A-Za-z0-9_.-]{3,255}$/) ?? DEFAULT_TABLE_NAME;
  const region = optionalString('region', fields.region, problems, AWS_REGION_PATTERN) ?? DEFAULT_REGION;
  let localCredentials: LocalConfig['localCredentials'];
  const creds = fields.localCredentials;
  if (creds !== undefined) {
    const c = isPlainObject(creds) ? creds : {};
    const extra = Object.keys(c).filter((key) => key !== 'accessKeyId' && key !== 'secretAccessKey');
    if (
      typeof c.accessKeyId === 'string' &&
      c.accessKeyId &&
      typeof c.secretAccessKey === 'string' &&
      c.secretAccessKey &&
      extra.length === 0
    ) {
      localCredentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
    } else {
      // Never echo a secret key back, even a malformed one.
      problems.push('localCredentials: expected {"accessKeyId": string, "secretAccessKey": string} and nothing else');
    }
  }
  // Open mode answers anyone who reaches 127.0.0.1 (every local user and process): acceptable against a local
  // emulator's tokens, never with real Entra tokens.
  const authorityHost = result.config?.runtime.authorityHost;
  if (creds === undefined && authorityHost !== undefined && !isLoopbackHost(new URL(authorityHost).hostname)) {
    problems.push(
      `localCredentials: required when authorityHost is not a loopback emulator (received authorityHost ${describeValue(authorityHost)}): without it /token/* hands real Entra tokens to any local user or process, unsigned`,
    );
  }
  if (problems.length > 0 || !result.config) throw new ConfigError(source, problems);
  return {
    broker: result.config,
    issuer,
    signingKeyFile,
    sealingKeyFile,
    rotationStateKeyFile,
    signingKeyDir,
    dynamodbEndpoint,
    tableName,
    region,
    localCredentials,
  };
}

/**
 * With signer "aws-sts" the runtime runs the local STS outbound-federation stand-in, which is the issuer: `issuer`,
 * when given, says where it listens (a loopback http URL with a port, no path), and there is no key file to sign with.
 */
function awsStsProblems(fields: Record<string, unknown>, issuer: string | undefined): string[] {
  const problems: string[] = [];
  if (fields.signingKeyFile !== undefined) {
    problems.push('signingKeyFile: applies to signer "kms" only; with signer "aws-sts" the local STS stand-in signs, remove it');
  }
  if (issuer !== undefined) {
    const url = new URL(issuer);
    if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname) || url.port === '' || url.pathname !== '/') {
      problems.push(
        `issuer: with signer "aws-sts" it is where the local STS outbound-federation stand-in listens, so an http loopback URL with a port and no path (e.g. "http://127.0.0.1:8788"), received ${describeValue(issuer)}`,
      );
    }
  }
  return problems;
}

/**
 * Reads and validates a local configuration file.
 * @throws ConfigError for a missing file, bad JSON or invalid fields, naming the file
 */
export async function loadLocalConfig(path: string): Promise<LocalConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${path}`, [`cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}`, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseLocalConfig(raw, `config file ${path}`);
}
