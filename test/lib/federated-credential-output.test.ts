/** The stack's FederatedCredentialCommand output: contract/federated-credential.ts's command, with values CloudFormation fills in. */
import { Lazy, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { federatedCredentialCreateCommand } from '../../contract/federated-credential';

const base = { clientId: '22222222-2222-2222-2222-222222222222', subject: 'aws-token-broker', audience: 'api://AzureADTokenExchange' };

describe('federatedCredentialCreateCommand in a stack', () => {
  it('leaves an unresolved issuer and subject (the API endpoint, the role ARN) for CloudFormation to join', () => {
    const stack = new Stack();
    const issuer = Lazy.string({ produce: () => 'https://resolved.example.com' });
    const subject = Lazy.string({ produce: () => 'arn:aws:iam::111122223333:role/Broker-TokenFunctionRole-AbC123' });
    const command = stack.resolve(federatedCredentialCreateCommand({ ...base, issuer, subject })) as string;
    expect(command).toBe(
      `az ad app federated-credential create --id 22222222-2222-2222-2222-222222222222 --parameters '{"name":"aws-token-broker","issuer":"https://resolved.example.com","subject":"arn:aws:iam::111122223333:role/Broker-TokenFunctionRole-AbC123","audiences":["api://AzureADTokenExchange"]}'`,
    );
  });

  it('gives the same command for a value known at synth and the same value resolved at deploy', () => {
    const stack = new Stack();
    const issuer = 'https://auth.example.com';
    const late = Lazy.string({ produce: () => issuer });
    expect(stack.resolve(federatedCredentialCreateCommand({ ...base, issuer: late }))).toBe(
      federatedCredentialCreateCommand({ ...base, issuer }),
    );
  });
});
