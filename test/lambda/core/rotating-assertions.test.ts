import { createPublicKey, sign } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { runKeyRotation } from '../../../lambda/core/key-rotation';
import type { KeySigner, KeyRotationStore } from '../../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../../lambda/core/rotating-assertions';
import { jwksCacheControl, RotationStateReader, stateCacheSeconds } from '../../../lambda/core/rotation-state-reader';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { FakeKeyService } from '../../support/fake-key-service';
import { rsaKeyPair } from '../../support/rsa-keys';
import { rotationStoreWorld } from '../../support/rotation-store';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const settings = { intervalSeconds: 100, publishLeadSeconds: 20, retireAfterSeconds: 10 };
const T0 = 1_800_000_000;
const CLAIMS = {
  issuer: 'https://broker.example',
  subject: 'aws-token-broker',
  audience: 'api://AzureADTokenExchange',
  lifetimeSeconds: 300,
};

/** Signs as the fake key service's keys would (the same pool). */
const poolSigner: KeySigner = {
  sign: async (keyId, input) => sign('sha256', input, rsaKeyPair(`pool-${String(Number(keyId.replace(/\D/g, '')) % 6)}`).privateKey),
};

function setup(store: KeyRotationStore = rotationStoreWorld().store) {
  let nowMs = T0 * 1000;
  const clock = () => nowMs;
  const keys = new FakeKeyService();
  const reader = new RotationStateReader({ store, clock, maxAgeMs: stateCacheSeconds(settings) * 1000, logger: silent });
  return {
    keys,
    store,
    reader,
    clock,
    advance: (seconds: number) => {
      nowMs += seconds * 1000;
    },
    rotate: () => runKeyRotation({ keys, store, settings, clock, logger: silent }),
    assertions: rotatingAssertions(CLAIMS, { state: reader, signer: poolSigner, clock }),
    jwks: rotationPublicKeys(reader),
  };
}

async function verifyAgainst(jwt: string, jwks: Awaited<ReturnType<ReturnType<typeof rotationPublicKeys>['publicKeys']>>) {
  const { kid } = decodeProtectedHeader(jwt);
  const jwk = jwks.find((key) => key.kid === kid);
  if (!jwk) throw new Error(`kid ${String(kid)} is not published`);
  // Checked at the time it was made: the signature and the kid are what is under test here.
  return jwtVerify(jwt, await importJWK(jwk, 'RS256'), { currentDate: new Date((decodeJwt(jwt).iat ?? 0) * 1000) });
}

describe('rotating assertions', () => {
  it('sign with the active key of the state, whose kid the JWKS from the same state publishes; follow the rotation', async () => {
    const s = setup();
    await s.rotate();
    const first = await s.assertions.create();
    await verifyAgainst(first, await s.jwks.publicKeys());
    s.advance(80);
    await s.rotate(); // next published
    s.advance(20);
    await s.rotate(); // next active
    s.advance(stateCacheSeconds(settings));
    const second = await s.assertions.create();
    expect(decodeProtectedHeader(second).kid).not.toBe(decodeProtectedHeader(first).kid);
    const jwks = await s.jwks.publicKeys();
    expect(jwks.map((key) => key.kid)).toEqual([decodeProtectedHeader(second).kid, decodeProtectedHeader(first).kid]);
    await verifyAgainst(second, jwks);
    await verifyAgainst(first, jwks);
  });

  it('without a state, sign with the bootstrap key and publish it; without either, refuse with a message that says what to run', async () => {
    const s = setup();
    const bootstrapPair = rsaKeyPair('pool-3');
    const bootstrap = { keyId: 'key-3', jwk: () => rsaPublicKeyToJwk(createPublicKey(bootstrapPair.privateKey)) };
    const withBootstrap = rotatingAssertions(CLAIMS, { state: s.reader, signer: poolSigner, clock: () => T0 * 1000, bootstrap });
    await verifyAgainst(
      await withBootstrap.create(),
      await rotationPublicKeys(s.reader, { publicKeys: async () => [await bootstrap.jwk()] }).publicKeys(),
    );
    await expect(s.assertions.create()).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('broker-keys rotate') as string,
    });
  });

  it('keep using the last state read when the store fails, and fail when nothing was ever read', async () => {
    const inner = rotationStoreWorld().store;
    let failing = false;
    const flaky: KeyRotationStore = {
      read: () => (failing ? Promise.reject(new Error('dynamodb down')) : inner.read()),
      write: (state, version) => inner.write(state, version),
      replaceRefused: (state, refused) => inner.replaceRefused(state, refused),
      adoptUnauthenticated: (check) => inner.adoptUnauthenticated(check),
    };
    const s = setup(flaky);
    await s.rotate();
    await s.assertions.create();
    failing = true;
    s.advance(3_600);
    await verifyAgainst(
      await s.assertions.create(),
      (await inner.read()).state.keys.map((key) => key.jwk),
    );
    const fresh = new RotationStateReader({ store: flaky, clock: () => 0, maxAgeMs: 1000, logger: silent });
    await expect(fresh.current()).rejects.toThrow('dynamodb down');
  });

  it('keep state and HTTP caching well inside the publish lead', () => {
    expect(stateCacheSeconds({ intervalSeconds: 90 * 86_400, publishLeadSeconds: 2 * 86_400, retireAfterSeconds: 86_400 })).toBe(60);
    expect(jwksCacheControl({ intervalSeconds: 90 * 86_400, publishLeadSeconds: 2 * 86_400, retireAfterSeconds: 86_400 })).toBe(
      'public, max-age=3600',
    );
    // The deployment minimum lead (an hour): a key is visible downstream within 60 + 360 s.
    expect(jwksCacheControl({ intervalSeconds: 86_400, publishLeadSeconds: 3_600, retireAfterSeconds: 300 })).toBe('public, max-age=360');
    expect(stateCacheSeconds({ intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 })).toBe(1);
    expect(jwksCacheControl({ intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 })).toBe('public, max-age=0');
  });
});

describe('rotating assertions and the JWKS: a state item the rotation did not write', () => {
  /** The review's attack: the attacker's key appended to the stored item, published and due to activate, version bumped. */
  async function forge(world: ReturnType<typeof rotationStoreWorld>, mac: 'keep' | 'none') {
    const stored = world.items.item!;
    const state = JSON.parse(stored.stateJson!) as { keys: Array<Record<string, unknown>> };
    const attacker = await rsaPublicKeyToJwk(rsaKeyPair('attacker').publicKey);
    state.keys.push({ keyId: 'key-attacker', jwk: attacker, status: 'published', reason: 'schedule', publishedAt: T0, activatesAt: T0 });
    world.items.put({ version: stored.version + 1, stateJson: JSON.stringify(state), mac: mac === 'keep' ? stored.mac : undefined });
    return attacker.kid;
  }

  it.each(['keep', 'none'] as const)(
    'keeps serving and signing with the last verified state (MAC %s): the attacker key is never published nor signs',
    async (mac) => {
      const world = rotationStoreWorld();
      const s = setup(world.store);
      await s.rotate();
      const reader = new RotationStateReader({ store: world.another(), clock: s.clock, maxAgeMs: 1000, logger: silent });
      const assertions = rotatingAssertions(CLAIMS, { state: reader, signer: poolSigner, clock: s.clock });
      const before = await rotationPublicKeys(reader).publicKeys();
      const attackerKid = await forge(world, mac);
      s.advance(5);

      const jwks = await rotationPublicKeys(reader).publicKeys();
      expect(jwks).toEqual(before);
      expect(jwks.map((key) => key.kid)).not.toContain(attackerKid);
      const assertion = await assertions.create();
      expect(decodeProtectedHeader(assertion).kid).toBe(before[0]?.kid);
      await verifyAgainst(assertion, jwks);
      expect(world.rejectedCount()).toBe(1);
      expect(world.refusals[0]).toMatchObject({ reason: mac === 'keep' ? 'mac-mismatch' : 'no-mac', version: 2 });
      // Kept for another maxAgeMs rather than read (and refused) on every request.
      await assertions.create();
      expect(world.rejectedCount()).toBe(1);
    },
  );

  it('with nothing verified: refuses to sign (internal, saying why and how to recover) and the JWKS is unavailable (503)', async () => {
    const world = rotationStoreWorld();
    const s = setup(world.store);
    await s.rotate();
    await forge(world, 'keep');
    const reader = new RotationStateReader({ store: world.another(), clock: () => T0 * 1000, maxAgeMs: 1000, logger: silent });
    const bootstrap = { keyId: 'key-3', jwk: () => rsaPublicKeyToJwk(rsaKeyPair('pool-3').publicKey) };
    // A present but refused item is not "no item": the bootstrap key does not stand in for it.
    const assertions = rotatingAssertions(CLAIMS, { state: reader, signer: poolSigner, clock: () => T0 * 1000, bootstrap });
    await expect(assertions.create()).rejects.toMatchObject({
      statusCode: 500,
      code: 'internal',
      message: expect.stringMatching(
        /^The broker signs nothing: The key rotation state item \(version 2\) was refused: its MAC does not verify\..*broker-keys rotate --emergency/,
      ) as string,
    });
    await expect(rotationPublicKeys(reader, { publicKeys: async () => [await bootstrap.jwk()] }).publicKeys()).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      message: 'The published keys cannot be read now. Retry later.',
    });
  });
});
