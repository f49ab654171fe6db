/**
 * What the STS stand-in knows about an AWS account: the IAM OIDC providers and roles of synthesized CloudFormation
 * templates, read from the templates themselves (never re-derived from the configuration), so the trust policy
 * it evaluates is the one `cdk deploy` would create.
 *
 * Resources get the names CloudFormation would give them in shape: a role without `RoleName` is named by its
 * logical id, a provider's ARN is `arn:{partition}:iam::{account}:oidc-provider/{Url without https://}` (IAM
 * keeps a trailing slash: github.com gist gene1wood/54611c45a3298504f8e33d95e317ae5c shows
 * `oidc-provider/auth-dev.mozilla.auth0.com/`).
 */

export interface OidcProviderRecord {
  readonly arn: string;
  /** `Url` as in the template, e.g. `https://sts.windows.net/{tenant}/`. */
  readonly url: string;
  readonly clientIds: readonly string[];
}

export interface RoleRecord {
  readonly arn: string;
  readonly name: string;
  readonly logicalId: string;
  readonly trustPolicy: PolicyDocument;
  readonly maxSessionDurationSeconds: number;
}

export interface PolicyStatement {
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: unknown;
}

export interface PolicyDocument {
  readonly Statement?: readonly PolicyStatement[] | PolicyStatement;
}

export interface AccountModel {
  readonly accountId: string;
  readonly partition: string;
  readonly providers: readonly OidcProviderRecord[];
  readonly roles: readonly RoleRecord[];
  /** The stack outputs, resolved (e.g. `RoleArnReader` → the role's ARN). */
  readonly outputs: Readonly<Record<string, string>>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

export interface TemplateAccountOptions {
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Providers that exist in the account outside the templates (a role's `providerArn`). @default [] */
  readonly extraProviders?: readonly OidcProviderRecord[];
}

/**
 * Builds the account from synthesized templates (their JSON), resolving `Ref`, `Fn::GetAtt … Arn`, `Fn::Join`
 * and the pseudo parameters.
 * @throws Error naming the template value it cannot resolve
 */
export function accountFromTemplates(templates: readonly unknown[], options: TemplateAccountOptions = {}): AccountModel {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const partition = 'aws';
  const providers: OidcProviderRecord[] = [...(options.extraProviders ?? [])];
  const roles: RoleRecord[] = [];
  const outputs: Record<string, string> = {};

  for (const raw of templates) {
    const template = raw as CfnTemplate;
    const resources = template.Resources ?? {};
    const arnOf = new Map<string, string>();
    const nameOf = new Map<string, string>();
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (resource.Type === 'AWS::IAM::OIDCProvider') {
        const url = String(resource.Properties?.Url);
        arnOf.set(logicalId, `arn:${partition}:iam::${accountId}:oidc-provider/${url.replace(/^https:\/\//, '')}`);
      } else if (resource.Type === 'AWS::IAM::Role') {
        const name = typeof resource.Properties?.RoleName === 'string' ? resource.Properties.RoleName : logicalId;
        nameOf.set(logicalId, name);
        arnOf.set(logicalId, `arn:${partition}:iam::${accountId}:role/${name}`);
      }
    }
    const resolve = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(resolve);
      if (typeof value !== 'object' || value === null) return value;
      const entries = Object.entries(value as Record<string, unknown>);
      const [first] = entries;
      if (entries.length === 1 && first) {
        const [fn, arg] = first;
        if (fn === 'Ref') {
          const ref = String(arg);
          const pseudo: Record<string, string> = {
            'AWS::Partition': partition,
            'AWS::AccountId': accountId,
            'AWS::Region': region,
            'AWS::URLSuffix': 'amazonaws.com',
          };
          // Ref of a role is its name; of an OIDC provider, its ARN (CloudFormation reference for each type).
          const resolved = pseudo[ref] ?? nameOf.get(ref) ?? arnOf.get(ref);
          if (resolved === undefined) throw new Error(`cannot resolve {"Ref": "${ref}"} in a template`);
          return resolved;
        }
        if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg[1] === 'Arn') {
          const resolved = arnOf.get(String(arg[0]));
          if (resolved === undefined) throw new Error(`cannot resolve {"Fn::GetAtt": ["${String(arg[0])}", "Arn"]} in a template`);
          return resolved;
        }
        if (fn === 'Fn::Join' && Array.isArray(arg)) {
          const [separator, parts] = arg as [string, unknown[]];
          return parts.map((part) => String(resolve(part))).join(separator);
        }
      }
      return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner)]));
    };

    for (const [logicalId, resource] of Object.entries(resources)) {
      const properties = resource.Properties ?? {};
      if (resource.Type === 'AWS::IAM::OIDCProvider') {
        providers.push({
          arn: arnOf.get(logicalId) ?? '',
          url: String(properties.Url),
          clientIds: ((properties.ClientIdList as unknown[] | undefined) ?? []).map(String),
        });
      } else if (resource.Type === 'AWS::IAM::Role') {
        roles.push({
          arn: arnOf.get(logicalId) ?? '',
          name: nameOf.get(logicalId) ?? logicalId,
          logicalId,
          trustPolicy: resolve(properties.AssumeRolePolicyDocument ?? {}) as PolicyDocument,
          // CloudFormation's default for MaxSessionDuration (AWS::IAM::Role reference).
          maxSessionDurationSeconds: typeof properties.MaxSessionDuration === 'number' ? properties.MaxSessionDuration : 3600,
        });
      }
    }
    for (const [name, output] of Object.entries(template.Outputs ?? {})) {
      const value = resolve(output.Value);
      if (typeof value === 'string') outputs[name] = value;
    }
  }
  return { accountId, partition, providers, roles, outputs };
}
