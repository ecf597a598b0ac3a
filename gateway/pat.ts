// Personal access tokens: `cmp_<id>_<secret>`, only sha256(secret) stored; scoped, expiring, revocable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PAT = /^cmp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

export function mintPat(): { id: string; secret: string; token: string; secretSha256: string } {
  const id = [...randomBytes(12)].map((b) => (b % 36).toString(36)).join('');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `cmp_${id}_${secret}`, secretSha256: sha256Hex(secret) };
}

export function parsePat(token: string): { id: string; secret: string } | undefined {
  const m = PAT.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function secretMatches(secret: string, storedSha256: string): boolean {
  const a = Buffer.from(sha256Hex(secret), 'hex');
  const b = Buffer.from(storedSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
