// Model API keys at rest: sealed with AES-256-GCM before they reach the blackboard or the record. The key is
// CODEMESH_SECRET_KEY (32 bytes, hex or base64), else `<state dir>/secret.key`, generated once with mode 0600.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_KEY_FILE = 'secret.key';
const VERSION = 'v1';

/** A missing, malformed or wrong key, or a sealed value that does not open. Never carries the secret. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
  readonly code = 'SECRET_KEY';
}

/** Seals and opens short secrets; `aad` binds a sealed value to its place (org and role). */
export interface SecretBox {
  seal(plain: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

/** 32 bytes from 64 hex digits or from base64 / base64url. */
export function parseSecretKey(raw: string): Buffer {
  const s = raw.trim();
  const key = /^[0-9a-f]{64}$/i.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
  if (key.length !== 32)
    throw new SecretKeyError('CODEMESH_SECRET_KEY must be 32 bytes, written as 64 hex digits or in base64');
  return key;
}

/**
 * The key: CODEMESH_SECRET_KEY, else the state dir's `secret.key` (refused when others may read it). With
 * `create`, a missing file is generated (random, mode 0600; two processes racing agree on the first one).
 * Undefined when there is neither and `create` is off.
 */
export function loadSecretKey(opts: {
  env: Record<string, string | undefined>;
  stateDir?: string;
  create?: boolean;
}): Buffer | undefined {
  const fromEnv = opts.env.CODEMESH_SECRET_KEY?.trim();
  if (fromEnv) return parseSecretKey(fromEnv);
  if (!opts.stateDir) return undefined;
  const file = join(opts.stateDir, SECRET_KEY_FILE);
  const read = (): Buffer => {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077)
      throw new SecretKeyError(`${file} may be read by others (mode ${mode.toString(8)}); chmod 600 it`);
    return parseSecretKey(readFileSync(file, 'utf8'));
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!opts.create) return undefined;
  mkdirSync(opts.stateDir, { recursive: true });
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  }
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
  } finally {
    closeSync(fd);
  }
  return read();
}

/**
 * @example
 * const box = secretBox(loadSecretKey({ env: process.env, stateDir, create: true })!);
 * const sealed = box.seal(apiKey, 'models:acme:coder'); // "v1:<iv>:<tag>:<ciphertext>"
 */
export function secretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new SecretKeyError('the secret key must be 32 bytes');
  return {
    seal(plain, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv, tag, ct]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join(':');
    },
    open(sealed, aad) {
      const [version, iv, tag, ct] = sealed.split(':');
      if (version !== VERSION || !iv || !tag || ct === undefined)
        throw new SecretKeyError('not a sealed secret of this version');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(aad));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch (err) {
        throw new SecretKeyError(
          "a stored API key does not open with this secret key (set CODEMESH_SECRET_KEY to the gateway's key)",
          { cause: err },
        );
      }
    },
  };
}
