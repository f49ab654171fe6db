/**
 * The federated identity credential Entra needs to trust the broker's assertions, and the Azure CLI command that
 * creates it: named by the runtime's refusal hints (lambda/core/entra-error.ts) and printed by `broker-doctor`.
 * lib/federated-credential-command.ts builds the same command for the stack's output, where the issuer may still be
 * an unresolved CloudFormation token; a test holds the two equal for a resolved issuer.
 *
 * Entra's rules for the credential (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations):
 * issuer, subject and audience each at most 600 characters, matched exactly (case-sensitively) against the
 * assertion's `iss`, `sub` and `aud`; exactly one audience; at most 20 credentials per app; the name 3-120 letters,
 * digits, `-` or `_`, starting with a letter or digit.
 */

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
 * shell, so any subject or issuer survives copy and paste. Never throws.
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

/** Single-quotes for a POSIX shell: a `'` inside becomes `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** A GUID or a plain word stays as it is (the usual client id); anything else is quoted. */
function shellWord(text: string): string {
  return /^[\w.-]+$/.test(text) ? text : shellQuote(text);
}
