import { describe, expect, it } from 'vitest';
import { ApiKeyStore, apiKeysFromEnv, sha256Hex } from '../../src/auth/api-keys.ts';

describe('ApiKeyStore', () => {
  const store = new ApiKeyStore([
    { sha256: sha256Hex('user-key'), name: 'user' },
    { sha256: sha256Hex('admin-key').toUpperCase(), admin: true, name: 'ops' },
  ]);

  it('accepts stored keys by their SHA-256 and reports the admin flag', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(store.verify('user-key')).toEqual({ admin: false, name: 'user' });
    expect(store.verify('admin-key')).toEqual({ admin: true, name: 'ops' });
  });

  it('refuses wrong, empty, absent and oversized keys', () => {
    for (const key of ['user-keyx', 'USER-KEY', '', undefined, 'x'.repeat(5000), sha256Hex('user-key')]) {
      expect(store.verify(key)).toBeUndefined();
    }
  });

  it('verifies by digest as by plaintext', () => {
    expect(store.verifyDigest(ApiKeyStore.digest('admin-key'))).toEqual({ admin: true, name: 'ops' });
    expect(ApiKeyStore.digest('')).toBeUndefined();
    expect(ApiKeyStore.digest('x'.repeat(1025))).toBeUndefined();
    expect(store.verifyDigest(Buffer.alloc(5))).toBeUndefined();
  });

  it('refuses malformed digests at start', () => {
    expect(() => new ApiKeyStore([{ sha256: 'abc' }])).toThrow(/64 hex digits/);
  });

  it('hashes RAYPACK_API_KEYS and RAYPACK_ADMIN_API_KEYS at start and keeps no plaintext', () => {
    const entries = apiKeysFromEnv({ RAYPACK_API_KEYS: ' one, two ,,', RAYPACK_ADMIN_API_KEYS: 'root' });
    expect(entries.map((e) => e.admin === true)).toEqual([false, false, true]);
    expect(JSON.stringify(entries)).not.toMatch(/"one"|"two"|"root"/);
    const fromEnv = new ApiKeyStore(entries);
    expect(fromEnv.verify('two')?.admin).toBe(false);
    expect(fromEnv.verify('root')?.admin).toBe(true);
    expect(apiKeysFromEnv({})).toEqual([]);
  });
});
