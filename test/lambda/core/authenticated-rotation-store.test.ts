/**
 * The rotation state's MAC over real HMAC-SHA-256: the local adapter (a key file's key) and the KMS adapter (the mock
 * answers GenerateMac and VerifyMac with a real node:crypto HMAC key). A state item anyone but the rotation wrote —
 * forged, edited, replayed or deleted — is refused, logged and counted, and never returned.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  RotationStateRejectedError,
  rotationStateMacMessage,
  type RotationKey,
  type RotationState,
} from '../../../contract/key-rotation-state';
import { KmsStateAuthenticator } from '../../../lambda/adapters/kms-state-authenticator';
import { LocalStateAuthenticator } from '../../../lambda/adapters/local-state-authenticator';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import type { StateAuthenticator } from '../../../lambda/core/ports';
import { KMS_ERRORS, mockKms, ROTATION_STATE_KEY_ARN } from '../../support/kms-mock';
import { rotationStoreWorld } from '../../support/rotation-store';
import { rsaKeyPair } from '../../support/rsa-keys';

const T0 = 1_800_000_000;

async function key(name: string, status: RotationKey['status']): Promise<RotationKey> {
  return {
    keyId: `key-${name}`,
    jwk: await rsaPublicKeyToJwk(rsaKeyPair(name).publicKey),
    status,
    reason: 'schedule',
    publishedAt: T0,
    activatesAt: T0,
    ...(status === 'active' ? { activatedAt: T0 } : {}),
  };
}

const legit: RotationState = { keys: [await key('broker-1', 'active')] };
/** The attack of the review: the attacker's public key appended, published, due to activate now. */
const withAttackerKey = async (state: RotationState): Promise<RotationState> => ({
  keys: [...state.keys, await key('attacker', 'published')],
});

const adapters: Array<[string, () => { authenticator: StateAuthenticator; kms?: ReturnType<typeof mockKms> }]> = [
  ['the local key', () => ({ authenticator: new LocalStateAuthenticator(randomBytes(32)) })],
  [
    'KMS (HMAC_256)',
    () => {
      const kms = mockKms();
      return { authenticator: new KmsStateAuthenticator(kms.client, ROTATION_STATE_KEY_ARN), kms };
    },
  ],
];

describe('rotationStateMacMessage', () => {
  it('is the SHA-256 of the domain, the version and the JSON as stored, each on its own line', () => {
    const json = JSON.stringify(legit);
    const expected = createHash('sha256').update(`aws-azure-token-broker/key-rotation-state/v1\n7\n${json}`, 'utf8').digest();
    expect(Buffer.from(rotationStateMacMessage(7, json))).toEqual(expected);
    expect(Buffer.from(rotationStateMacMessage(8, json))).not.toEqual(expected);
    expect(Buffer.from(rotationStateMacMessage(7, `${json} `))).not.toEqual(expected);
    expect(rotationStateMacMessage(7, json)).toHaveLength(32); // within KMS's 4096 bytes whatever the state's size
  });
});

describe.each(adapters)(
  'AuthenticatedRotationStore with %s',
  (_, makeAdapter) => {
    const world = makeAdapter;

    it('writes each state with a MAC over its version and JSON, and reads it back verified', async () => {
      const { authenticator } = world();
      const w = rotationStoreWorldWith(authenticator);
      expect(await w.store.write(legit, 0)).toBe(true);
      const item = w.items.item!;
      expect(item.version).toBe(1);
      expect(await authenticator.verify(rotationStateMacMessage(1, item.stateJson!), item.mac!)).toBe(true);
      expect(await w.another().read()).toEqual({ state: legit, version: 1 });
      expect(w.rejectedCount()).toBe(0);
    });

    it.each([
      ['the attacker key appended, version bumped, the old MAC kept', 'mac-mismatch'],
      ['the attacker key appended, version bumped, no MAC', 'no-mac'],
      ['the attacker key appended with a MAC made by another key', 'mac-mismatch'],
      ['the legit state under a bumped version (the MAC is of the old one)', 'mac-mismatch'],
    ] as const)('refuses a state item with %s: logged (version and reason), counted, never returned', async (what, reason) => {
      const { authenticator } = world();
      const w = rotationStoreWorldWith(authenticator);
      await w.store.write(legit, 0);
      const reader = w.another();
      await reader.read();
      const stored = w.items.item!;
      const forgedJson = what.startsWith('the legit') ? stored.stateJson! : JSON.stringify(await withAttackerKey(legit));
      const mac = what.includes('no MAC')
        ? undefined
        : what.includes('another key')
          ? await new LocalStateAuthenticator(randomBytes(32)).mac(rotationStateMacMessage(2, forgedJson))
          : stored.mac;
      w.items.put({ version: 2, stateJson: forgedJson, mac });

      for (const store of [reader, w.another()]) {
        const refused = await store.read().catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(RotationStateRejectedError);
        expect(refused).toMatchObject({ code: 'rotation_state_rejected', reason, storedVersion: 2 });
      }
      expect(w.rejectedCount()).toBe(2);
      expect(w.refusals).toEqual([
        { reason, version: 2, highestVerifiedVersion: 1 },
        { reason, version: 2, highestVerifiedVersion: 0 },
      ]);
      // The rotation does not rewrite it either: a write on the refused version is not a way around the MAC.
      expect(w.items.item?.stateJson).toBe(forgedJson);
    });

    it('refuses an older item put back (a replay) once a newer one was verified, and the item deleted after that', async () => {
      const { authenticator } = world();
      const w = rotationStoreWorldWith(authenticator);
      await w.store.write(legit, 0);
      const version1 = w.items.item;
      const reader = w.another();
      await w.store.write({ keys: [...legit.keys, await key('broker-2', 'published')] }, 1);
      expect((await reader.read()).version).toBe(2);

      w.items.put(version1);
      await expect(reader.read()).rejects.toMatchObject({ reason: 'replayed', storedVersion: 1 });
      // A process that never saw version 2 cannot tell (the MAC is valid): the replay check is per process.
      expect((await w.another().read()).version).toBe(1);

      w.items.put(undefined);
      await expect(reader.read()).rejects.toMatchObject({ reason: 'deleted', storedVersion: 0 });
      expect(w.refusals.map((refusal) => refusal.reason)).toEqual(['replayed', 'deleted']);
    });

    it('refuses an item whose version is not a usable number, and names no version it cannot read', async () => {
      const { authenticator } = world();
      const w = rotationStoreWorldWith(authenticator);
      const json = JSON.stringify(legit);
      for (const version of [Number.NaN, 0, -3, 1.5, 2 ** 53]) {
        w.items.put({ version, stateJson: json, mac: await authenticator.mac(rotationStateMacMessage(version, json)) });
        await expect(w.another().read()).rejects.toMatchObject({ reason: 'malformed', storedVersion: undefined });
      }
      w.items.put({ version: 4, stateJson: undefined, mac: new Uint8Array(32) });
      await expect(w.another().read()).rejects.toMatchObject({ reason: 'malformed' });
    });

    it('replaces a refused item (emergency recovery) with a version above it, above any verified one and at least the time', async () => {
      const { authenticator } = world();
      const w = rotationStoreWorldWith(authenticator);
      await w.store.write(legit, 0);
      const reader = w.another();
      await reader.read();
      w.items.put({ version: 9, stateJson: JSON.stringify(await withAttackerKey(legit)), mac: undefined });
      const refused = await w.store.read().then(
        () => {
          throw new Error('the forged item was read');
        },
        (error: unknown) => error as RotationStateRejectedError,
      );

      const recovered: RotationState = { keys: [await key('broker-2', 'active')] };
      const version = await w.store.replaceRefused(recovered, refused);
      expect(version).toBe(T0 + 1);
      expect(await reader.read()).toEqual({ state: recovered, version: T0 + 1 });
      // Only on the item that was refused: once it changed, a replacement writes nothing.
      expect(await w.another().replaceRefused(recovered, refused)).toBeUndefined();
    });
  },
  20_000,
);

describe('AuthenticatedRotationStore with KMS: the calls', () => {
  it('verifies a state once per item, not per read, and never sends KMS the state itself', async () => {
    const kms = mockKms();
    const w = rotationStoreWorldWith(new KmsStateAuthenticator(kms.client, ROTATION_STATE_KEY_ARN));
    await w.store.write(legit, 0);
    const reader = w.another();
    for (let i = 0; i < 3; i++) await reader.read();
    expect(kms.generateMacInputs()).toHaveLength(1);
    expect(kms.verifyMacInputs()).toHaveLength(1);
    expect(kms.verifyMacInputs()[0]).toMatchObject({ KeyId: ROTATION_STATE_KEY_ARN, MacAlgorithm: 'HMAC_SHA_256' });
    expect(kms.verifyMacInputs()[0]?.Message).toHaveLength(32);
  });

  it('treats KMS unavailable as unavailable (503), not as a refused state: nothing logged as refused, nothing counted', async () => {
    const kms = mockKms();
    const w = rotationStoreWorldWith(new KmsStateAuthenticator(kms.client, ROTATION_STATE_KEY_ARN));
    await w.store.write(legit, 0);
    kms.failNext('VerifyMac', KMS_ERRORS.throttling());
    await expect(w.another().read()).rejects.toMatchObject({ code: 'upstream_unavailable', upstream: 'kms' });
    kms.failNext('VerifyMac', KMS_ERRORS.accessDenied());
    await expect(w.another().read()).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringMatching(/^AWS KMS refused VerifyMac .*\(AccessDeniedException\)/) as string,
    });
    expect(w.rejectedCount()).toBe(0);
    expect((await w.another().read()).version).toBe(1);
  });

  it('fails a write with internal when KMS refuses GenerateMac (only the rotator may make MACs)', async () => {
    const kms = mockKms();
    const w = rotationStoreWorldWith(new KmsStateAuthenticator(kms.client, ROTATION_STATE_KEY_ARN));
    kms.failNext('GenerateMac', KMS_ERRORS.accessDenied());
    await expect(w.store.write(legit, 0)).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringMatching(/^AWS KMS refused GenerateMac /) as string,
    });
    expect(w.items.item).toBeUndefined();
  });
});

/** A world whose stores all use `authenticator`. */
function rotationStoreWorldWith(authenticator: StateAuthenticator) {
  return rotationStoreWorld({ clock: () => T0 * 1000, authenticator });
}
