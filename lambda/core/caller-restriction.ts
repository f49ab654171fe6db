/**
 * An optional restriction on who may call the token routes, on top of IAM: HTTP APIs have no resource
 * policy, so the token function checks the caller that API Gateway's IAM authorizer verified.
 */
export interface AllowedCallers {
  /** Only principals of these AWS accounts. */
  readonly accountIds?: readonly string[];
  /** Only principals of these AWS Organizations (aws:PrincipalOrgID). */
  readonly principalOrgIds?: readonly string[];
}

/** What API Gateway's IAM authorizer says about the caller (payload 2.0 `requestContext.authorizer.iam`). */
export interface IamCaller {
  readonly accountId?: string | null;
  readonly principalOrgId?: string | null;
  readonly userArn?: string | null;
}

/** True when the caller satisfies every list that is set; an empty restriction allows everyone IAM allowed. */
export function isCallerAllowed(caller: IamCaller | undefined, allowed: AllowedCallers | undefined): boolean {
  if (!allowed) return true;
  const inList = (list: readonly string[] | undefined, value: string | null | undefined) =>
    list === undefined || list.length === 0 || (typeof value === 'string' && list.includes(value));
  return inList(allowed.accountIds, caller?.accountId) && inList(allowed.principalOrgIds, caller?.principalOrgId);
}

/**
 * Parses the `BROKER_ALLOWED_CALLERS` JSON.
 * @throws TypeError naming the value when it is not `{"accountIds"?: string[], "principalOrgIds"?: string[]}`
 */
export function parseAllowedCallers(json: string | undefined): AllowedCallers | undefined {
  if (json === undefined || json === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new TypeError(`BROKER_ALLOWED_CALLERS: expected JSON, received ${json}`);
  }
  const isStringList = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((item) => typeof item === 'string'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`BROKER_ALLOWED_CALLERS: expected an object, received ${json}`);
  }
  const { accountIds, principalOrgIds, ...rest } = value as Record<string, unknown>;
  if (!isStringList(accountIds) || !isStringList(principalOrgIds) || Object.keys(rest).length > 0) {
    throw new TypeError(`BROKER_ALLOWED_CALLERS: expected {"accountIds"?: string[], "principalOrgIds"?: string[]}, received ${json}`);
  }
  return { accountIds: accountIds, principalOrgIds: principalOrgIds };
}
