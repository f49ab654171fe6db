import { Lazy, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { federatedCredentialCommand } from '../../lib/federated-credential-command';

const base = { clientId: '22222222-2222-2222-2222-222222222222', subject: 'aws-token-broker', audience: 'api://AzureADTokenExchange' };

describe('federatedCredentialCommand', () => {
  it('builds the az command with the credential as inline JSON', () => {
    const command = federatedCredentialCommand({ ...base, issuer: 'https://auth.example.com' });
    expect(command).toBe(
      `az ad app federated-credential create --id 22222222-2222-2222-2222-222222222222 --parameters '{"name":"aws-token-broker","issuer":"https://auth.example.com","subject":"aws-token-broker","audiences":["api://AzureADTokenExchange"]}'`,
    );
    const json = command.slice(command.indexOf("'") + 1, -1);
    expect(JSON.parse(json)).toEqual({
      name: 'aws-token-broker',
      issuer: 'https://auth.example.com',
      subject: 'aws-token-broker',
      audiences: ['api://AzureADTokenExchange'],
    });
  });

  it('escapes quotes for JSON and for the shell', () => {
    const command = federatedCredentialCommand({ ...base, subject: `it's "quoted"`, issuer: 'https://auth.example.com' });
    expect(command).toContain(`"subject":"it'\\''s \\"quoted\\""`);
  });

  it('leaves an unresolved issuer for CloudFormation to join', () => {
    const stack = new Stack();
    const issuer = Lazy.string({ produce: () => 'https://resolved.example.com' });
    const resolved = stack.resolve(federatedCredentialCommand({ ...base, issuer })) as string;
    expect(resolved).toContain('"issuer":"https://resolved.example.com"');
  });
});
