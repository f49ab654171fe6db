import { describe, expect, it } from 'vitest';
import { validateAzureToAwsConfig } from '../../contract/azure-to-aws-config';
import { validateBrokerConfig } from '../../contract/broker-config';
import { likelyMeant } from '../../contract/unknown-field';

const VALID = {
  tenantId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
};

describe('unknown fields', () => {
  it('names the field a misspelling most likely meant, at every level of the broker schema', () => {
    const { problems } = validateBrokerConfig({
      ...VALID,
      refreshMarginSecond: 300,
      Signer: 'kms',
      keyRotation: { intervalSecond: 86_400 },
      scopes: { graph: { scope: 'https://graph.microsoft.com/.default', tenantID: VALID.tenantId } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^refreshMarginSecond: unknown field \(did you mean "refreshMarginSeconds"\? known: tenantId, /),
        expect.stringMatching(/^Signer: unknown field \(did you mean "signer"\?/),
        expect.stringMatching(/^keyRotation\.intervalSecond: unknown field \(did you mean "intervalSeconds"\?/),
        expect.stringMatching(/^scopes\.graph\.tenantID: unknown field \(did you mean "tenantId"\?/),
      ]),
    );
  });

  it('guesses nothing for a field that resembles none, and still lists the known ones', () => {
    const { problems } = validateBrokerConfig({ ...VALID, colour: 'blue' });
    expect(problems).toEqual([expect.stringMatching(/^colour: unknown field \(known: tenantId, clientId, scopes, /)]);
  });

  it('does the same in the reverse-direction schemas', () => {
    const { problems } = validateAzureToAwsConfig({
      tenantId: VALID.tenantId,
      audience: 'api://aws-federation',
      roles: { reader: { managedIdentityObjectId: ['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'] } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/managedIdentityObjectId: unknown field \(did you mean "managedIdentityObjectIds"\?/)]),
    );
  });

  it('keeps short names strict: one edit at most for four characters or fewer', () => {
    expect(likelyMeant('scpe', ['scope'])).toBe('scope');
    expect(likelyMeant('ab', ['sub'])).toBeUndefined();
    expect(likelyMeant('subjekt', ['subject', 'audience'])).toBe('subject');
  });
});
