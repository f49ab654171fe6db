/**
 * What the two inbound-federation schemas (`azureToAws`, `githubActions`) share: role names, session duration
 * and managed policies per role, and the collecting field reader. Every problem names the field and the value.
 */
import { describeValue, isPlainObject } from './config-error';
import { unknownFieldProblem } from './unknown-field';

/** A role key in `roles`: it names the role's outputs and construct ids, so it is kept short and plain. */
export const ROLE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** IAM's bounds for a role's MaxSessionDuration (seconds). */
export const SESSION_DURATION_BOUNDS = { min: 3600, max: 43_200 } as const;
export const DEFAULT_MAX_SESSION_DURATION_SECONDS = 3600;
/** A managed policy ARN: an AWS managed one (`iam::aws:policy/...`) or a customer managed one of an account. */
const MANAGED_POLICY_ARN = /^arn:aws(-[a-z]+)*:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/;
/** An IAM OIDC provider ARN (to reuse a provider the account already has: IAM holds one per URL). */
const OIDC_PROVIDER_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:oidc-provider\/[^\s]+$/;

/** What every federated role accepts besides its trust. */
export interface FederatedRoleInput {
  /**
   * Longest session STS may issue for the role, in seconds (IAM's MaxSessionDuration, 3600 to 43200).
   * @default 3600
   */
  readonly maxSessionDurationSeconds?: number;
  /**
   * Managed policies attached to the role, by ARN (`arn:aws:iam::aws:policy/ReadOnlyAccess`, or a customer managed
   * policy). Permissions can also be granted from CDK code (`federation.role(name)` is an `iam.IGrantable`).
   * @default - none
   */
  readonly managedPolicyArns?: readonly string[];
}

export interface FederatedRoleSettings {
  readonly name: string;
  readonly maxSessionDurationSeconds: number;
  readonly managedPolicyArns: readonly string[];
}

export const FEDERATED_ROLE_FIELDS = ['maxSessionDurationSeconds', 'managedPolicyArns'] as const;

export interface ConfigReadOptions {
  /**
   * Report fields the schema does not know. JSON written by hand (cdk.json) needs it; typed input from CDK code does
   * not, since the compiler already refuses a field the input type lacks.
   * @default true
   */
  readonly reportUnknownFields?: boolean;
}

/**
 * Reads fields while collecting problems; a bad field yields a placeholder so reading goes on, and the result is
 * discarded whenever a problem was recorded.
 */
export class ProblemCollector {
  readonly problems: string[] = [];

  constructor(private readonly options: ConfigReadOptions = {}) {}

  add(problem: string): void {
    this.problems.push(problem);
  }

  unknownFields(where: string, value: Record<string, unknown>, known: readonly string[]): void {
    if (this.options.reportUnknownFields === false) return;
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.add(unknownFieldProblem(`${where}${where ? '.' : ''}${key}`, key, known));
    }
  }

  guid(where: string, value: unknown, what: string): string {
    if (typeof value === 'string' && GUID_PATTERN.test(value)) return value.toLowerCase();
    this.add(`${where}: expected ${what} (a GUID), received ${describeValue(value)}`);
    return '';
  }

  boolean(where: string, value: unknown): boolean {
    if (value === undefined) return false;
    if (typeof value === 'boolean') return value;
    this.add(`${where}: expected true or false, received ${describeValue(value)}`);
    return false;
  }

  optionalProviderArn(where: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && OIDC_PROVIDER_ARN.test(value)) return value;
    this.add(
      `${where}: expected an IAM OIDC provider ARN such as arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com, received ${describeValue(value)}`,
    );
    return undefined;
  }

  /** The `roles` object: at least one entry, each key a role name, each value an object. */
  roles(where: string, value: unknown, example: string): Array<[string, Record<string, unknown>]> {
    if (!isPlainObject(value) || Object.keys(value).length === 0) {
      this.add(`${where}: expected an object with at least one role, e.g. ${example}, received ${describeValue(value)}`);
      return [];
    }
    const entries: Array<[string, Record<string, unknown>]> = [];
    for (const [name, entry] of Object.entries(value)) {
      if (!ROLE_NAME_PATTERN.test(name)) {
        this.add(
          `${where}: role name ${describeValue(name)} must match ${ROLE_NAME_PATTERN.source} (lowercase letters, digits, hyphens; at most 63)`,
        );
        continue;
      }
      if (!isPlainObject(entry)) {
        this.add(`${where}.${name}: expected an object, received ${describeValue(entry)}`);
        continue;
      }
      entries.push([name, entry]);
    }
    return entries;
  }

  /** Session duration and managed policies of one role. */
  roleSettings(where: string, name: string, entry: Record<string, unknown>): FederatedRoleSettings {
    const duration = entry.maxSessionDurationSeconds;
    let maxSessionDurationSeconds: number = DEFAULT_MAX_SESSION_DURATION_SECONDS;
    if (duration !== undefined) {
      const { min, max } = SESSION_DURATION_BOUNDS;
      if (typeof duration === 'number' && Number.isInteger(duration) && duration >= min && duration <= max) {
        maxSessionDurationSeconds = duration;
      } else {
        this.add(
          `${where}.maxSessionDurationSeconds: expected an integer from ${min} to ${max} (IAM's limits), received ${describeValue(duration)}`,
        );
      }
    }
    const arns = entry.managedPolicyArns;
    const managedPolicyArns: string[] = [];
    if (arns !== undefined) {
      if (!Array.isArray(arns)) {
        this.add(`${where}.managedPolicyArns: expected a list of policy ARNs, received ${describeValue(arns)}`);
      } else {
        arns.forEach((arn: unknown, index) => {
          if (typeof arn === 'string' && MANAGED_POLICY_ARN.test(arn)) managedPolicyArns.push(arn);
          else
            this.add(
              `${where}.managedPolicyArns[${index}]: expected a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess, received ${describeValue(arn)}`,
            );
        });
      }
    }
    return { name, maxSessionDurationSeconds, managedPolicyArns };
  }
}
