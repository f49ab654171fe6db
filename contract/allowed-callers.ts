/**
 * An optional restriction on who may call the token routes, on top of IAM: HTTP APIs have no resource policy,
 * so the token function checks the caller that API Gateway's IAM authorizer verified.
 */
import { describeValue, isPlainObject } from './config-error';
import { unknownFieldProblem } from './unknown-field';

export interface AllowedCallers {
  /**
   * Only principals of these AWS accounts get tokens.
   * @default - no restriction by account
   */
  readonly accountIds?: readonly string[];
  /**
   * Only principals of these AWS Organizations (`aws:PrincipalOrgID`) get tokens.
   * @default - no restriction by organization
   */
  readonly principalOrgIds?: readonly string[];
}

const ACCOUNT_ID_PATTERN = /^\d{12}$/;
const ORG_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;
const FIELDS = ['accountIds', 'principalOrgIds'] as const;

/**
 * Every problem with an `AllowedCallers` value, each naming the field and the value received.
 * @param isUnresolved skips values that are not known yet (CDK tokens)
 */
export function allowedCallersProblems(value: unknown, isUnresolved: (value: unknown) => boolean = () => false): string[] {
  if (!isPlainObject(value))
    return [`allowedCallers: expected {"accountIds"?: [...], "principalOrgIds"?: [...]}, received ${describeValue(value)}`];
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(key)) problems.push(unknownFieldProblem(`allowedCallers.${key}`, key, FIELDS));
  }
  const rules: Record<(typeof FIELDS)[number], [RegExp, string]> = {
    accountIds: [ACCOUNT_ID_PATTERN, 'a 12-digit AWS account id'],
    principalOrgIds: [ORG_ID_PATTERN, 'an AWS Organizations id such as o-a1b2c3d4e5'],
  };
  let entries = 0;
  for (const field of FIELDS) {
    const list = value[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      problems.push(`allowedCallers.${field}: expected a list, received ${describeValue(list)}`);
      continue;
    }
    entries += list.length;
    const [pattern, what] = rules[field];
    list.forEach((item: unknown, index) => {
      if (isUnresolved(item)) return;
      if (typeof item !== 'string' || !pattern.test(item)) {
        problems.push(`allowedCallers.${field}[${index}]: expected ${what}, received ${describeValue(item)}`);
      }
    });
  }
  if (entries === 0 && problems.length === 0) {
    problems.push(
      `allowedCallers: expected at least one account id or organization id (an empty restriction restricts nothing; leave allowedCallers unset to rely on IAM alone), received ${describeValue(value)}`,
    );
  }
  return problems;
}

/**
 * Reads `AllowedCallers` from its JSON form (the token function's `BROKER_ALLOWED_CALLERS`).
 * @returns undefined for an unset or empty variable
 * @throws TypeError naming the value when it is not valid JSON or not a valid restriction
 */
export function parseAllowedCallersJson(json: string | undefined, source = 'BROKER_ALLOWED_CALLERS'): AllowedCallers | undefined {
  if (json === undefined || json === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new TypeError(`${source}: expected JSON, received ${describeValue(json)}`);
  }
  const problems = allowedCallersProblems(value);
  if (problems.length > 0) throw new TypeError(`${source}: ${problems.join('; ')}`);
  return value as AllowedCallers;
}
