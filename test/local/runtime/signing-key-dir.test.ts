import { createPublicKey, createVerify, type JsonWebKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SigningKeyDirectory } from '../../../local/runtime/signing-key-dir';

const folder = () => join(mkdtempSync(join(tmpdir(), 'key-dir-test-')), 'keys');

describe('SigningKeyDirectory (the local stand-in for the rotation KMS keys)', () => {
  it('creates private RSA-2048 key files in a private folder, signs with them, publishes their public halves, deletes them', async () => {
    const keys = new SigningKeyDirectory(folder());
    await keys.prepare();
    const keyId = await keys.createKey();
    expect(keyId).toMatch(/^[0-9a-f-]{36}\.pem$/);
    expect(statSync(keys.folder).mode & 0o777).toBe(0o700);
    expect(statSync(join(keys.folder, keyId)).mode & 0o777).toBe(0o600);
    const jwk = await keys.publicKey(keyId);
    expect(Buffer.from(jwk.n, 'base64url').length * 8).toBe(2048);
    const signature = await keys.sign(keyId, Buffer.from('header.claims'));
    const publicKey = createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' });
    expect(createVerify('sha256').update('header.claims').verify(publicKey, signature)).toBe(true);
    expect(createVerify('sha256').update('other').verify(publicKey, signature)).toBe(false);
    await keys.scheduleDeletion(keyId);
    await keys.scheduleDeletion(keyId); // a rerun after a crash: already gone is fine
    expect(existsSync(join(keys.folder, keyId))).toBe(false);
    expect(readdirSync(keys.folder)).toEqual([]);
  });

  it('refuses a key id that is not one of its files (a state edited to point elsewhere), naming it', async () => {
    const keys = new SigningKeyDirectory(folder());
    await keys.prepare();
    await expect(keys.sign('../../etc/passwd', Buffer.from('x'))).rejects.toThrow(/not a key file of signingKeyDir: "..\/..\/etc\/passwd"/);
    await expect(keys.publicKey('00000000-0000-4000-8000-000000000000.pem')).rejects.toThrow(
      /00000000-0000-4000-8000-000000000000\.pem named by the rotation state cannot be read from signingKeyDir .* \(ENOENT\)/,
    );
  });
});
