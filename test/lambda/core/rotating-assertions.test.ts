import { createPublicKey, sign } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MemoryRotationStore } from '../../../lambda/adapters/memory-rotation-store';
import { runKeyRotation } from '../../../lambda/core/key-rotation';
import type { KeySigner, KeyRotationStore } from '../../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../../lambda/core/rotating-assertions';
import { jwksCacheControl, RotationStateReader, stateCacheSeconds } from '../../../lambda/core/rotation-state-reader';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { FakeKeyService } from '../../support/fake-key-service';
import { rsaKeyPair } from '../../support/rsa-keys';

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

function setup(store: KeyRotationStore = new MemoryRotationStore()) {
  let nowMs = T0 * 1000;
  const clock = () => nowMs;
  const keys = new FakeKeyService();
  const reader = new RotationStateReader({ store, clock, maxAgeMs: stateCacheSeconds(settings) * 1000, logger: silent });
  return {
    keys,
    store,
    reader,
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
    const inner = new MemoryRotationStore();
    let failing = false;
    const flaky: KeyRotationStore = {
      read: () => (failing ? Promise.reject(new Error('dynamodb down')) : inner.read()),
      write: (state, version) => inner.write(state, version),
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
