/**
 * API keys. Only SHA-256 digests are kept in memory and in configuration; a presented key is hashed and compared
 * with every stored digest using timingSafeEqual (same length digests, no early exit), so neither the comparison
 * time nor the logs reveal anything about a key. Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKeyEntry {
  /** Hex SHA-256 of the key (64 hex digits). */
  readonly sha256: string;
  /** Admin keys may see raw (non-anonymised) camera frames. */
  readonly admin?: boolean;
  /** A label for logs ("frontdesk"), never the key. */
  readonly name?: string;
}

export interface ApiKeyIdentity {
  readonly admin: boolean;
  readonly name: string;
}

interface StoredKey extends ApiKeyIdentity {
  readonly digest: Buffer;
}

export function sha256Hex(plaintext: string): string {
  return createHash('sha256').update(plaintext, 'utf8').digest('hex');
}

/** `RAYPACK_API_KEYS` / `RAYPACK_ADMIN_API_KEYS`: comma-separated plaintext keys, hashed at once. */
export function apiKeysFromEnv(env: Readonly<Record<string, string | undefined>>): ApiKeyEntry[] {
  const split = (value: string | undefined): string[] =>
    (value ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  return [
    ...split(env.RAYPACK_API_KEYS).map((k, i) => ({ sha256: sha256Hex(k), name: `env-${i + 1}` })),
    ...split(env.RAYPACK_ADMIN_API_KEYS).map((k, i) => ({ sha256: sha256Hex(k), admin: true, name: `env-admin-${i + 1}` })),
  ];
}

export class ApiKeyStore {
  private readonly keys: StoredKey[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.keys = entries.map((entry, i) => {
      if (!/^[0-9a-f]{64}$/i.test(entry.sha256)) {
        throw new Error(`API key ${entry.name ?? `#${i + 1}`}: sha256 must be 64 hex digits`);
      }
      return { digest: Buffer.from(entry.sha256, 'hex'), admin: entry.admin === true, name: entry.name ?? `key-${i + 1}` };
    });
  }

  get size(): number {
    return this.keys.length;
  }

  /** The SHA-256 of a presentable key (1 to 1024 characters), or undefined for a missing or oversized one. */
  static digest(plaintext: string | undefined): Buffer | undefined {
    if (typeof plaintext !== 'string' || plaintext.length === 0 || plaintext.length > 1024) return undefined;
    return createHash('sha256').update(plaintext, 'utf8').digest();
  }

  /** The identity of a presented plaintext key, or undefined. Constant time in the key's content. */
  verify(plaintext: string | undefined): ApiKeyIdentity | undefined {
    return this.verifyDigest(ApiKeyStore.digest(plaintext));
  }

  /** The identity of a presented key given by its digest (ApiKeyStore.digest), or undefined. */
  verifyDigest(digest: Buffer | undefined): ApiKeyIdentity | undefined {
    if (digest === undefined || digest.length !== 32) return undefined;
    let found: StoredKey | undefined;
    for (const key of this.keys) {
      // Compare against every key, even after a match, so the time does not depend on the key's position.
      if (timingSafeEqual(key.digest, digest) && !found) found = key;
    }
    return found ? { admin: found.admin, name: found.name } : undefined;
  }
}
