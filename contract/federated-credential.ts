/**
 * The federated identity credential Entra needs to trust the broker's assertions, and the Azure CLI command that
 * creates it: named by the runtime's refusal hints (lambda/core/entra-error.ts), printed by `broker-doctor` and by the
 * stack's `FederatedCredentialCommand…` outputs.
 *
 * Entra's rules for the credential (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations):
 * issuer, subject and audience each at most 600 characters, matched exactly (case-sensitively) against the
 * assertion's `iss`, `sub` and `aud`; exactly one audience; at most 20 credentials per app; the name 3-120 letters,
 * digits, `-` or `_`, starting with a letter or digit.
 */
import { shellQuote } from './shell-quote';

/** The credential's name on the app registration. */
export const FEDERATED_CREDENTIAL_NAME = 'aws-token-broker';

/** What the credential must hold, and the app it belongs to. */
export interface FederatedCredentialValues {
  /** The app registration's application (client) id; `az ad app` takes it as `--id`. */
  readonly clientId: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

/**
 * The POSIX-shell command that creates the credential:
 * `az ad app federated-credential create --id <clientId> --parameters '{"name","issuer","subject","audiences":[…]}'`
 * (`--parameters` takes inline JSON or a file). Every value is JSON-escaped, then the JSON single-quoted for the
 * shell, so any subject or issuer survives copy and paste. An unresolved CloudFormation token (`${Token[…]}`, the
 * stack's API endpoint or role ARN) holds no character either step changes, so CloudFormation fills the value in at
 * deploy, as it is: fine for URLs and ARNs, which need no escaping. Never throws.
 */
export function federatedCredentialCreateCommand(values: FederatedCredentialValues): string {
  const json = JSON.stringify({
    name: FEDERATED_CREDENTIAL_NAME,
    issuer: values.issuer,
    subject: values.subject,
    audiences: [values.audience],
  });
  return `az ad app federated-credential create --id ${shellWord(values.clientId)} --parameters ${shellQuote(json)}`;
}

/** A GUID or a plain word stays as it is (the usual client id); anything else is quoted. */
function shellWord(text: string): string {
  return /^[\w.-]+$/.test(text) ? text : shellQuote(text);
}
