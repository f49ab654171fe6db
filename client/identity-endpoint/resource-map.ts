/**
 * Which broker alias answers which Azure resource. SDKs send the resource their scope names
 * (`https://storage.azure.com/.default` → `https://storage.azure.com`, some with a trailing slash), so resources are
 * compared in `scopeKey` form: without `/.default` and trailing slashes.
 */
import { scopeKey } from '../broker-credential';
import { IdentityEndpointError } from './identity-endpoint-error';

/** Resource → alias, as the caller wrote it, with the lookup form alongside. */
export interface ResourceMap {
  /** The alias for `resource` in any of its spellings, or undefined. */
  aliasFor(resource: string): string | undefined;
  /** `resource (alias a), …` in the order given, for messages. */
  describe(): string;
  /** Resource → alias as given. */
  readonly entries: ReadonlyArray<readonly [resource: string, alias: string]>;
}

/** Broker aliases (the deployment's configuration schema): what a `--resource` value must name. */
const ALIAS = /^[a-z0-9][a-z0-9-]{0,62}$/;

function invalid(message: string): IdentityEndpointError {
  return new IdentityEndpointError('invalid_argument', message);
}

/**
 * Builds the map from `resource → alias` pairs.
 * @throws IdentityEndpointError `invalid_argument` naming the entry: none given, an empty or non-absolute-URI resource, an alias that is not a
 *   broker alias (`^[a-z0-9][a-z0-9-]{0,62}$`), or one resource mapped to two aliases
 */
export function resourceMap(pairs: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>): ResourceMap {
  const list: ReadonlyArray<readonly [string, string]> = Array.isArray(pairs)
    ? (pairs as ReadonlyArray<readonly [string, string]>)
    : Object.entries(pairs as Readonly<Record<string, string>>);
  if (list.length === 0) throw invalid('no resource is mapped: give at least one <azure resource>=<alias>');
  const byKey = new Map<string, string>();
  const entries: Array<readonly [string, string]> = [];
  for (const [resource, alias] of list) {
    const key = scopeKey(resource);
    // A URI (`https://storage.azure.com`, `api://<app id>`) or a bare application id: anything without blanks.
    if (key.length === 0 || /\s/.test(key)) {
      throw invalid(
        `the resource ${JSON.stringify(resource)} is not a resource such as https://storage.azure.com, api://<app id> or an application id`,
      );
    }
    if (typeof alias !== 'string' || !ALIAS.test(alias)) {
      throw invalid(
        `the alias for ${resource} must be a broker alias (lower-case letters, digits and dashes, at most 63), got ${JSON.stringify(alias)}`,
      );
    }
    const previous = byKey.get(key);
    if (previous !== undefined && previous !== alias) {
      throw invalid(`the resource ${resource} is mapped to both "${previous}" and "${alias}"`);
    }
    if (previous === undefined) entries.push([resource, alias]);
    byKey.set(key, alias);
  }
  return {
    entries,
    aliasFor: (resource) => byKey.get(scopeKey(resource)),
    describe: () => entries.map(([resource, alias]) => `${resource} (alias ${alias})`).join(', '),
  };
}

/**
 * Parses `--resource` values, `<azure resource>=<alias>`; the resource may itself hold `=` (the last one splits).
 * @throws IdentityEndpointError `invalid_argument` naming the value
 */
export function parseResourceFlags(values: readonly string[]): ResourceMap {
  return resourceMap(
    values.map((value) => {
      const at = value.lastIndexOf('=');
      if (at <= 0 || at === value.length - 1) {
        throw invalid(`--resource ${JSON.stringify(value)} is not <azure resource>=<alias>, e.g. https://storage.azure.com=storage`);
      }
      return [value.slice(0, at), value.slice(at + 1)] as const;
    }),
  );
}

/**
 * Parses a JSON object of resource → alias, e.g. `{"https://storage.azure.com": "storage"}` (how a Lambda
 * function's environment carries the map).
 * @param source names where the JSON came from, for the message
 * @throws IdentityEndpointError `invalid_argument` naming `source`
 */
export function parseResourceMapJson(json: string, source: string): ResourceMap {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw invalid(`${source} is not JSON: expected {"<azure resource>": "<alias>", …}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${source} must be a JSON object {"<azure resource>": "<alias>", …}`);
  }
  return resourceMap(value as Record<string, string>);
}
