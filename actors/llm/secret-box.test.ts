import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecretKey, parseSecretKey, SECRET_KEY_FILE, SecretKeyError, secretBox } from './secret-box.ts';

const KEY = Buffer.alloc(32, 7);

describe('sealed API keys', () => {
  it('round-trips, and the ciphertext holds nothing of the secret', () => {
    const box = secretBox(KEY);
    const sealed = box.seal('sk-live-0123456789abcdef', 'models:acme:coder');
    expect(sealed).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(sealed).not.toContain('sk-live');
    expect(box.open(sealed, 'models:acme:coder')).toBe('sk-live-0123456789abcdef');
    // Fresh IV each time.
    expect(box.seal('x', 'a')).not.toBe(box.seal('x', 'a'));
  });

  it('does not open in another place, with another key, or tampered', () => {
    const box = secretBox(KEY);
    const sealed = box.seal('sk-live-0123456789abcdef', 'models:acme:coder');
    expect(() => box.open(sealed, 'models:other-org:coder')).toThrow(SecretKeyError);
    expect(() => secretBox(Buffer.alloc(32, 8)).open(sealed, 'models:acme:coder')).toThrow(SecretKeyError);
    const [v, iv, tag, ct] = sealed.split(':');
    const flipped = `${v}:${iv}:${tag}:${ct!.startsWith('A') ? 'B' : 'A'}${ct!.slice(1)}`;
    expect(() => box.open(flipped, 'models:acme:coder')).toThrow(SecretKeyError);
    expect(() => box.open('plain-text', 'models:acme:coder')).toThrow(/not a sealed secret/);
    try {
      secretBox(Buffer.alloc(32, 8)).open(sealed, 'models:acme:coder');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('sk-live');
    }
  });

  it('takes the key from CODEMESH_SECRET_KEY (hex or base64), refusing other lengths', () => {
    expect(parseSecretKey('07'.repeat(32))).toEqual(KEY);
    expect(parseSecretKey(KEY.toString('base64'))).toEqual(KEY);
    expect(() => parseSecretKey('short')).toThrow(/32 bytes/);
    const dir = mkdtempSync(join(tmpdir(), 'codemesh-key-'));
    expect(
      loadSecretKey({ env: { CODEMESH_SECRET_KEY: '07'.repeat(32) }, stateDir: dir, create: true }),
    ).toEqual(KEY);
  });

  it('else generates <state dir>/secret.key once, mode 0600, and refuses one others may read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codemesh-key-'));
    expect(loadSecretKey({ env: {}, stateDir: dir })).toBeUndefined();
    const a = loadSecretKey({ env: {}, stateDir: dir, create: true });
    const file = join(dir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(a).toHaveLength(32);
    expect(loadSecretKey({ env: {}, stateDir: dir })).toEqual(a);
    expect(readFileSync(file, 'utf8').trim()).toBe(a!.toString('hex'));
    chmodSync(file, 0o644);
    expect(() => loadSecretKey({ env: {}, stateDir: dir })).toThrow(/chmod 600/);
  });
});
