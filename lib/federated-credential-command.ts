import { Token } from 'aws-cdk-lib';

/** The credential's name on the app registration: 3-120 letters, digits, `-` or `_`, unique per app. */
export const FEDERATED_CREDENTIAL_NAME = 'aws-token-broker';

export interface FederatedCredentialCommandOptions {
  /** The app registration's application (client) id; `az ad app` accepts it as `--id`. */
  readonly clientId: string;
  /** The issuer URL; may be an unresolved token (the API endpoint). */
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

/**
 * The Azure CLI command (POSIX shell) that creates the federated identity credential Entra needs to trust
 * the broker's assertions:
 * `az ad app federated-credential create --id <clientId> --parameters '<json>'`, where `--parameters`
 * takes a file path or inline JSON with `name`, `issuer`, `subject` and `audiences`.
 *
 * The same in the portal (for the README): Microsoft Entra admin center > App registrations > the app >
 * Certificates & secrets > Federated credentials > Add credential > scenario "Other issuer", then Issuer,
 * "Explicit subject identifier" = subject, Audience and Name as in the command.
 *
 * The issuer may be a token, so the command is returned as a string that CloudFormation joins at deploy.
 */
export function federatedCredentialCommand(options: FederatedCredentialCommandOptions): string {
  const issuerJson = Token.isUnresolved(options.issuer)
    ? `"${options.issuer}"` // the API endpoint: an https URL, nothing to escape
    : JSON.stringify(options.issuer);
  const json =
    `{"name":${JSON.stringify(FEDERATED_CREDENTIAL_NAME)},"issuer":${issuerJson},` +
    `"subject":${JSON.stringify(options.subject)},"audiences":[${JSON.stringify(options.audience)}]}`;
  return `az ad app federated-credential create --id ${options.clientId} --parameters ${shellQuote(json)}`;
}

/** Single-quotes for a POSIX shell: a `'` inside becomes `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
