import type { AllowedCallers } from '../../contract/allowed-callers';

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
