import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';

/**
 * An Entra emulator with one app whose federated credential trusts the local broker listening on `port`, with the
 * broker's default subject and audience (written out, as a user would type them into Entra).
 */
export function startEntraTrustingBroker(port: number, app: { tenantId: string; clientId: string }): Promise<EntraEmulator> {
  return startEntraEmulator({
    apps: [
      {
        ...app,
        federatedCredentials: [
          { issuer: `http://127.0.0.1:${String(port)}`, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] },
        ],
      },
    ],
  });
}
