import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sessionSelectors } from '../../../client/reverse-direction/session-selectors';

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'session-selectors-'));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

const TENANT = '11111111-1111-1111-1111-111111111111';

function azureProfile(subscriptions: unknown[]): string {
  // azure-cli writes the file with a UTF-8 byte order mark.
  return `\uFEFF${JSON.stringify({ installationId: 'x', subscriptions })}`;
}

describe('sessionSelectors', () => {
  it('names the identity-selecting variables and the STS, and no secret', async () => {
    const selectors = await sessionSelectors({
      stsRegion: 'eu-west-1',
      managedIdentityClientId: 'mi-client',
      env: {
        HOME: home,
        AZURE_CLIENT_ID: 'client',
        AZURE_TENANT_ID: TENANT,
        AZURE_CLIENT_SECRET: 'a-client-secret',
        IDENTITY_ENDPOINT: 'http://127.0.0.1:41000/msi/token',
        IDENTITY_HEADER: 'an-identity-header-secret',
        MSI_SECRET: 'an-msi-secret',
        AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:42000',
        AWS_SECRET_ACCESS_KEY: 'an-aws-secret',
        PATH: '/usr/bin',
      },
    });
    expect(selectors).toEqual({
      stsRegion: 'eu-west-1',
      managedIdentityClientId: 'mi-client',
      AZURE_CLIENT_ID: 'client',
      AZURE_TENANT_ID: TENANT,
      IDENTITY_ENDPOINT: 'http://127.0.0.1:41000/msi/token',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:42000',
    });
  });

  it("reads the az login's default subscription: tenant, user and cloud", async () => {
    const azure = join(home, '.azure');
    mkdirSync(azure);
    writeFileSync(
      join(azure, 'azureProfile.json'),
      azureProfile([
        {
          id: 's1',
          isDefault: false,
          tenantId: 'other-tenant',
          user: { name: 'dev@contoso.com', type: 'user' },
          environmentName: 'AzureCloud',
        },
        { id: 's2', isDefault: true, tenantId: TENANT, user: { name: 'dev@contoso.com', type: 'user' }, environmentName: 'AzureCloud' },
      ]),
    );
    const selectors = await sessionSelectors({ stsRegion: 'us-east-1', env: { HOME: home } });
    expect(selectors.azureCliAccount).toBe(`${TENANT} user:dev@contoso.com AzureCloud`);
    // AZURE_CONFIG_DIR moves the az configuration, as azure-cli's get_config_dir reads it.
    const elsewhere = join(home, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(
      join(elsewhere, 'azureProfile.json'),
      azureProfile([
        {
          isDefault: true,
          tenantId: 'sp-tenant',
          user: { name: 'app-id', type: 'servicePrincipal' },
          environmentName: 'AzureUSGovernment',
        },
      ]),
    );
    const moved = await sessionSelectors({ stsRegion: 'us-east-1', env: { HOME: home, AZURE_CONFIG_DIR: elsewhere } });
    expect(moved.azureCliAccount).toBe('sp-tenant servicePrincipal:app-id AzureUSGovernment');
    expect(moved.AZURE_CONFIG_DIR).toBe(elsewhere);
  });

  it("stands for Azure PowerShell's and azd's logins by a digest of their files, and for an unreadable az profile too", async () => {
    const empty = await sessionSelectors({ stsRegion: 'us-east-1', env: { HOME: home } });
    expect(empty).toEqual({ stsRegion: 'us-east-1' });
    mkdirSync(join(home, '.Azure'));
    mkdirSync(join(home, '.azd'));
    mkdirSync(join(home, '.azure'));
    writeFileSync(join(home, '.Azure', 'AzureRmContext.json'), '{"DefaultContextKey":"a"}');
    writeFileSync(join(home, '.azd', 'config.json'), '{"auth":{"account":{"currentUser":{"homeAccountId":"a"}}}}');
    writeFileSync(join(home, '.azure', 'azureProfile.json'), 'not json');
    const first = await sessionSelectors({ stsRegion: 'us-east-1', env: { HOME: home } });
    expect(first).toEqual({
      stsRegion: 'us-east-1',
      azurePowerShellContext: expect.stringMatching(/^[0-9a-f]{64}$/),
      azureDeveloperCliConfig: expect.stringMatching(/^[0-9a-f]{64}$/),
      azureCliAccount: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    writeFileSync(join(home, '.Azure', 'AzureRmContext.json'), '{"DefaultContextKey":"b"}');
    writeFileSync(join(home, '.azd', 'config.json'), '{"auth":{"account":{"currentUser":{"homeAccountId":"b"}}}}');
    const second = await sessionSelectors({ stsRegion: 'us-east-1', env: { HOME: home } });
    expect(second.azurePowerShellContext).not.toBe(first.azurePowerShellContext);
    expect(second.azureDeveloperCliConfig).not.toBe(first.azureDeveloperCliConfig);
    expect(second.azureCliAccount).toBe(first.azureCliAccount);
  });
});
