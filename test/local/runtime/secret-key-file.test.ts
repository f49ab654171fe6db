/** The local secret key files (sealing, rotation state): generated once, refused when not a key, never quoted. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_ROTATION_STATE_KEY_FILE,
  DEFAULT_SEALING_KEY_FILE,
  loadOrCreateRotationStateKey,
  loadOrCreateSealingKey,
} from '../../../local/runtime/secret-key-file';
import { DEFAULT_SIGNING_KEY_FILE } from '../../../local/runtime/signing-key-file';
import { repoRoot } from '../../support/broker-process';

const dir = mkdtempSync(join(tmpdir(), 'broker-sealing-key-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('default key files', () => {
  it("all live in the repository root's git-ignored .local/, beside the signing key", () => {
    const local = join(repoRoot, '.local');
    expect([DEFAULT_SIGNING_KEY_FILE, DEFAULT_SEALING_KEY_FILE, DEFAULT_ROTATION_STATE_KEY_FILE]).toEqual([
      join(local, 'signing-key.pem'),
      join(local, 'sealing-key'),
      join(local, 'rotation-state-key'),
    ]);
  });
});

describe('loadOrCreateSealingKey', () => {
  it('generates 32 random bytes once at the default path (mode 0600, folder 0700), then reads the same key', async () => {
    const file = join(dir, 'fresh', '.local', 'sealing-key');
    const first = await loadOrCreateSealingKey(undefined, file);
    const second = await loadOrCreateSealingKey(undefined, file);
    expect(first).toMatchObject({ path: file, created: true, tooOpen: false });
    expect(second).toMatchObject({ path: file, created: false });
    expect(first.key).toHaveLength(32);
    expect(Buffer.from(second.key)).toEqual(Buffer.from(first.key));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'fresh', '.local')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
  });

  it('reads a configured file and says when others can read it', async () => {
    const file = join(dir, 'configured');
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
    expect(await loadOrCreateSealingKey(file, join(dir, 'unused'))).toMatchObject({ path: file, created: false, tooOpen: true });
  });

  it('never creates a configured file that is missing: a typo would silently split the processes of one table', async () => {
    const file = join(dir, 'typo');
    await expect(loadOrCreateSealingKey(file)).rejects.toThrow(`sealingKeyFile ${file}: cannot read it (ENOENT)`);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['a PEM key', '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----'],
    ['hex', randomBytes(32).toString('hex')],
  ])('refuses a file holding %s, without quoting it', async (_, content) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, content, { mode: 0o600 });
    const error = await loadOrCreateSealingKey(file).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(new RegExp(`^sealingKeyFile ${file}: expected the base64 of 32 random bytes`));
    expect(error?.message).not.toContain(content.trim().slice(0, 12));
  });
});

describe('loadOrCreateRotationStateKey', () => {
  it('generates its own key once at its own default path, and names its own field in errors', async () => {
    const file = join(dir, 'state', 'rotation-state-key');
    const first = await loadOrCreateRotationStateKey(undefined, file);
    expect(first).toMatchObject({ path: file, created: true, tooOpen: false });
    expect(Buffer.from((await loadOrCreateRotationStateKey(undefined, file)).key)).toEqual(Buffer.from(first.key));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const missing = join(dir, 'state', 'typo');
    await expect(loadOrCreateRotationStateKey(missing)).rejects.toThrow(`rotationStateKeyFile ${missing}: cannot read it (ENOENT)`);
  });
});
