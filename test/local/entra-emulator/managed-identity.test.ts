/**
 * The emulator's App Service managed-identity endpoint, called as `@azure/identity` calls it and checked for what
 * a token consumer (STS) relies on: v1 claims, signature against the emulator's JWKS.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../../local/entra-emulator/emulator';

const TENANT = '11111111-1111-1111-1111-111111111111';
const SYSTEM = { tenantId: TENANT, objectId: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', clientId: 'a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1' };
const USER = {
  tenantId: TENANT,
  objectId: 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb',
  clientId: 'b1b1b1b1-b1b1-b1b1-b1b1-b1b1b1b1b1b1',
  resourceId: '/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u',
};
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
let emulator: EntraEmulator;
let endpoint: string;

beforeAll(async () => {
  emulator = await startEntraEmulator({
    apps: [{ tenantId: TENANT, clientId: '33333333-3333-3333-3333-333333333333', federatedCredentials: [] }],
    managedIdentity: { identityHeader: 'header-secret', identities: [SYSTEM, USER], resources: ['api://aws-federation'] },
    now: () => NOW_MS,
  });
  endpoint = `${emulator.url}${emulator.managedIdentity?.path ?? ''}`;
});

afterAll(async () => {
  await emulator?.close();
});

const get = (query: string, header: string | null = 'header-secret') =>
  fetch(`${endpoint}?${query}`, { headers: header === null ? {} : { 'X-IDENTITY-HEADER': header } });

describe('Entra emulator: managed-identity endpoint', () => {
  it('issues a v1 token for the system-assigned identity, verifiable against the emulator keys', async () => {
    const response = await get('api-version=2019-08-01&resource=api%3A%2F%2Faws-federation');
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({
      expires_on: String(NOW_MS / 1000 + 3599),
      resource: 'api://aws-federation',
      token_type: 'Bearer',
      client_id: SYSTEM.clientId,
    });
    const { payload, protectedHeader } = await jwtVerify(body.access_token ?? '', createRemoteJWKSet(new URL(emulator.jwksUri(TENANT))), {
      currentDate: new Date(NOW_MS),
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      iss: `https://sts.windows.net/${TENANT}/`,
      aud: 'api://aws-federation',
      sub: SYSTEM.objectId,
      oid: SYSTEM.objectId,
      appid: SYSTEM.clientId,
      tid: TENANT,
      ver: '1.0',
      idtyp: 'app',
    });
  });

  it('selects a user-assigned identity by client_id, object_id, principal_id or mi_res_id', async () => {
    for (const selector of [
      `client_id=${USER.clientId}`,
      `object_id=${USER.objectId}`,
      `principal_id=${USER.objectId}`,
      `mi_res_id=${encodeURIComponent(USER.resourceId)}`,
    ]) {
      const body = (await (await get(`api-version=2019-08-01&resource=api://aws-federation&${selector}`)).json()) as Record<string, string>;
      expect(body.client_id, selector).toBe(USER.clientId);
    }
    const unknown = await get('api-version=2019-08-01&resource=api://aws-federation&client_id=cccccccc-cccc-cccc-cccc-cccccccccccc');
    expect(unknown.status).toBe(400);
  });

  it('refuses a missing or wrong header (401), a wrong api-version and a resource the tenant does not have (400)', async () => {
    const before = emulator.managedIdentity?.counts.tokens;
    expect((await get('api-version=2019-08-01&resource=api://aws-federation', null)).status).toBe(401);
    expect((await get('api-version=2019-08-01&resource=api://aws-federation', 'guess')).status).toBe(401);
    expect((await get('api-version=2017-09-01&resource=api://aws-federation')).status).toBe(400);
    const other = await get('api-version=2019-08-01&resource=api://other');
    expect(other.status).toBe(400);
    expect(((await other.json()) as { message: string }).message).toMatch(
      /^AADSTS500011: The resource principal named api:\/\/other was not found/,
    );
    expect(emulator.managedIdentity?.counts.tokens).toBe(before);
  });

  it('is what @azure/identity calls with IDENTITY_ENDPOINT and IDENTITY_HEADER', async () => {
    vi.stubEnv('IDENTITY_ENDPOINT', endpoint);
    vi.stubEnv('IDENTITY_HEADER', 'header-secret');
    try {
      const token = await new ManagedIdentityCredential({ clientId: USER.clientId }).getToken('api://aws-federation/.default');
      const payload = JSON.parse(Buffer.from(token.token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
      expect(payload.sub).toBe(USER.objectId);
      // MSAL turns expires_on into expires_in and back with two reads of the real clock: a second may pass between.
      expect(Math.abs(token.expiresOnTimestamp - (NOW_MS + 3599_000))).toBeLessThanOrEqual(1000);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
