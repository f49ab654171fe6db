/**
 * Evaluates a role's trust policy for `sts:AssumeRoleWithWebIdentity` as IAM does (IAM User Guide, "Policy
 * evaluation logic" and "IAM JSON policy elements: Condition operators"):
 * - an explicit Deny that matches wins; otherwise at least one Allow must match; otherwise the request is denied;
 * - a statement matches when its Action covers the action (wildcards allowed, case-insensitive), its Principal's
 *   `Federated` names the token's provider, and every condition operator matches (AND across operators and
 *   keys, OR across the values of one key);
 * - `String*` operators on a key the request does not carry fail, their negations (`StringNot*`) and `…IfExists`
 *   match; `StringLike` knows `*` (any run, including none) and `?` (one character), case-sensitively.
 * Operators it does not know make an Allow fail and a Deny match: the stand-in errs towards refusing.
 */
import type { PolicyDocument, PolicyStatement } from './template-trust';

export const ASSUME_ROLE_WITH_WEB_IDENTITY = 'sts:AssumeRoleWithWebIdentity';

/** The request as the policy sees it: the action, the token's provider ARN and the condition keys. */
export interface TrustRequest {
  readonly action: string;
  readonly federatedPrincipal: string;
  /** E.g. `sts.windows.net/{tenant}/:sub` → the token's `sub`. */
  readonly context: Readonly<Record<string, string | undefined>>;
}

export type TrustVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function actionMatches(patterns: unknown, action: string): boolean {
  return list(patterns).some((pattern) => typeof pattern === 'string' && globToRegExp(pattern.toLowerCase()).test(action.toLowerCase()));
}

function principalMatches(principal: unknown, federated: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  return list((principal as Record<string, unknown>).Federated).some((value) => value === federated);
}

type Comparison = (actual: string, expected: string) => boolean;
const COMPARISONS: Record<string, { compare: Comparison; negated: boolean }> = {
  StringEquals: { compare: (a, e) => a === e, negated: false },
  StringNotEquals: { compare: (a, e) => a === e, negated: true },
  StringEqualsIgnoreCase: { compare: (a, e) => a.toLowerCase() === e.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (a, e) => a.toLowerCase() === e.toLowerCase(), negated: true },
  StringLike: { compare: (a, e) => globToRegExp(e).test(a), negated: false },
  StringNotLike: { compare: (a, e) => globToRegExp(e).test(a), negated: true },
};

/** @returns true, false, or undefined for an operator the stand-in does not know */
function operatorMatches(operator: string, block: unknown, context: TrustRequest['context']): boolean | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const ifExists = operator.endsWith('IfExists');
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  const rule = COMPARISONS[base];
  if (!rule) return undefined;
  return Object.entries(block as Record<string, unknown>).every(([key, expected]) => {
    // Condition keys are case-insensitive (IAM User Guide, "Condition element"); the keys built here are lowercase.
    const actual = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
    if (actual === undefined) return ifExists || rule.negated;
    const anyMatch = list(expected).some((value) => typeof value === 'string' && rule.compare(actual, value));
    return rule.negated ? !anyMatch : anyMatch;
  });
}

function conditionsMatch(statement: PolicyStatement, request: TrustRequest, effect: 'Allow' | 'Deny'): boolean {
  const condition = statement.Condition;
  if (condition === undefined) return true;
  if (typeof condition !== 'object' || condition === null) return effect === 'Deny';
  return Object.entries(condition as Record<string, unknown>).every(([operator, block]) => {
    const verdict = operatorMatches(operator, block, request.context);
    return verdict ?? effect === 'Deny';
  });
}

function statementMatches(statement: PolicyStatement, request: TrustRequest, effect: 'Allow' | 'Deny'): boolean {
  // NotAction / NotPrincipal: not needed by the roles this project creates; an Allow using them never matches.
  if (statement.NotAction !== undefined || statement.NotPrincipal !== undefined) return effect === 'Deny';
  return (
    actionMatches(statement.Action, request.action) &&
    principalMatches(statement.Principal, request.federatedPrincipal) &&
    conditionsMatch(statement, request, effect)
  );
}

/** Evaluates `policy` for `request`. Never throws. */
export function evaluateTrustPolicy(policy: PolicyDocument, request: TrustRequest): TrustVerdict {
  const statements = list(policy.Statement) as PolicyStatement[];
  if (statements.some((statement) => statement.Effect === 'Deny' && statementMatches(statement, request, 'Deny'))) {
    return { allowed: false, reason: 'an explicit Deny in the trust policy matches' };
  }
  if (statements.some((statement) => statement.Effect === 'Allow' && statementMatches(statement, request, 'Allow')))
    return { allowed: true };
  return { allowed: false, reason: 'no Allow statement of the trust policy matches (principal, action or conditions)' };
}
