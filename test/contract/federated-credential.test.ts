import { describe, expect, it } from 'vitest';
import {
  FEDERATED_CREDENTIAL_NAME,
  MANAGED_IDENTITY_PLACEHOLDERS,
  federatedCredentialCreateCommand,
  managedIdentityCredentialCreateCommand,
} from '../../contract/federated-credential';

const values = {
  clientId: '22222222-2222-2222-2222-222222222222',
  issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  subject: 'aws-token-broker',
  audience: 'api://AzureADTokenExchange',
};

/** The JSON a POSIX shell hands to `--parameters`: undoes the single quoting. */
function parametersOf(command: string): unknown {
  const quoted = command.slice(command.indexOf('--parameters ') + '--parameters '.length);
  return JSON.parse(quoted.slice(1, -1).replaceAll(`'\\''`, `'`));
}

describe('federatedCredentialCreateCommand', () => {
  it('creates the credential with the exact issuer, subject and single audience', () => {
    const command = federatedCredentialCreateCommand(values);
    expect(command).toBe(
      `az ad app federated-credential create --id 22222222-2222-2222-2222-222222222222 --parameters '{"name":"aws-token-broker","issuer":"https://abc123.execute-api.eu-west-1.amazonaws.com","subject":"aws-token-broker","audiences":["api://AzureADTokenExchange"]}'`,
    );
  });

  it('keeps quotes, spaces and shell characters in a subject intact through JSON and the shell', () => {
    const subject = `it's "quoted" $(rm -rf /) \`x\``;
    const command = federatedCredentialCreateCommand({ ...values, subject });
    expect(parametersOf(command)).toStrictEqual({
      name: FEDERATED_CREDENTIAL_NAME,
      issuer: values.issuer,
      subject,
      audiences: [values.audience],
    });
    expect(federatedCredentialCreateCommand({ ...values, clientId: 'my app; echo' })).toContain(`--id 'my app; echo' `);
  });
});

describe('managedIdentityCredentialCreateCommand', () => {
  const holder = { identityName: 'broker-identity', resourceGroup: 'identities-rg' };

  it('creates the same credential on a user-assigned managed identity, named by identity and resource group', () => {
    expect(managedIdentityCredentialCreateCommand(values, holder)).toBe(
      'az identity federated-credential create --name aws-token-broker --identity-name broker-identity --resource-group identities-rg --issuer https://abc123.execute-api.eu-west-1.amazonaws.com --subject aws-token-broker --audiences api://AzureADTokenExchange',
    );
  });

  it('leaves the placeholders for the shell to fill in, and quotes every other value that a shell would change', () => {
    const command = managedIdentityCredentialCreateCommand(
      { ...values, subject: `it's $(rm -rf /)`, audience: 'api://x y' },
      { ...MANAGED_IDENTITY_PLACEHOLDERS },
    );
    expect(command).toBe(
      `az identity federated-credential create --name aws-token-broker --identity-name "$IDENTITY_NAME" --resource-group "$RESOURCE_GROUP" --issuer https://abc123.execute-api.eu-west-1.amazonaws.com --subject 'it'\\''s $(rm -rf /)' --audiences 'api://x y'`,
    );
    // A placeholder-looking name given by the user is a value like any other: quoted, not expanded.
    expect(managedIdentityCredentialCreateCommand(values, { identityName: '$HOME', resourceGroup: 'rg' })).toContain(
      "--identity-name '$HOME' ",
    );
  });
});
