import { describe, expect, it } from 'vitest';
import { FEDERATED_CREDENTIAL_NAME, federatedCredentialCreateCommand } from '../../contract/federated-credential';

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
