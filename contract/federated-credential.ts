/**
 * The federated identity credential Entra needs to trust the broker's assertions, and the Azure CLI commands that
 * create it: named by the runtime's refusal hints (lambda/core/entra-error.ts), printed by `broker-doctor` and by the
 * stack's `FederatedCredentialCommand…` and `ManagedIdentityCredentialCommand…` outputs. Two kinds of Entra object can
 * hold it: an app registration (`az ad app federated-credential create`) or a user-assigned managed identity
 * (`az identity federated-credential create`); either way `clientId` is its client id and the token endpoint is the
 * same (learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity).
 *
 * Entra's rules for the credential (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations):
 * issuer, subject and audience each at most 600 characters, matched exactly (case-sensitively) against the
 * assertion's `iss`, `sub` and `aud`; exactly one audience; at most 20 credentials per app; the name 3-120 letters,
 * digits, `-` or `_`, starting with a letter or digit.
 */
import { shellQuote } from './shell-quote';

/** The credential's name on the app registration. */
export const FEDERATED_CREDENTIAL_NAME = 'aws-token-broker';

/** What the credential must hold, and the app registration or managed identity it belongs to. */
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

/** The user-assigned managed identity that holds the credential: what `az identity` names it by. */
export interface ManagedIdentityHolder {
  /** The identity's name; a shell word such as `"$IDENTITY_NAME"` where the stack cannot know it. */
  readonly identityName: string;
  readonly resourceGroup: string;
}

/** Shell words the stack writes for the identity it cannot know: the user sets these two variables first. */
export const MANAGED_IDENTITY_PLACEHOLDERS: ManagedIdentityHolder = {
  identityName: '"$IDENTITY_NAME"',
  resourceGroup: '"$RESOURCE_GROUP"',
};

/**
 * The POSIX-shell command that creates the credential on a user-assigned managed identity:
 * `az identity federated-credential create --name aws-token-broker --identity-name <name> --resource-group <group>
 * --issuer <issuer> --subject <subject> --audiences <audience>`. Values are quoted as in
 * `federatedCredentialCreateCommand`; the placeholders of MANAGED_IDENTITY_PLACEHOLDERS are kept as they are, so the
 * shell fills them in. `values.clientId` is not part of the command (`az identity` finds the identity by name), only of
 * the outputs' descriptions. Never throws.
 */
export function managedIdentityCredentialCreateCommand(values: FederatedCredentialValues, holder: ManagedIdentityHolder): string {
  const word = (text: string) => (Object.values(MANAGED_IDENTITY_PLACEHOLDERS).includes(text) ? text : shellWord(text));
  return [
    'az identity federated-credential create',
    `--name ${FEDERATED_CREDENTIAL_NAME}`,
    `--identity-name ${word(holder.identityName)}`,
    `--resource-group ${word(holder.resourceGroup)}`,
    `--issuer ${shellWord(values.issuer)}`,
    `--subject ${shellWord(values.subject)}`,
    `--audiences ${shellWord(values.audience)}`,
  ].join(' ');
}

/** A GUID, URL or plain word stays as it is (characters no POSIX shell treats specially); anything else is quoted. */
function shellWord(text: string): string {
  return /^[\w.:/@+,-]+$/.test(text) ? text : shellQuote(text);
}
