// The webhook signature check: HMAC-SHA256 of the raw body, `sha256=<hex>`, compared in constant time.
import { createHmac } from 'node:crypto';
import { expect, it } from 'vitest';
import { validSignature } from './webhooks.ts';

it('accepts only the HMAC of these exact bytes with this secret', () => {
  const body = Buffer.from('{"action":"labeled"}');
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  expect(validSignature('s3cret', body, sig)).toBe(true);
  expect(validSignature('other', body, sig)).toBe(false);
  expect(validSignature('s3cret', Buffer.from('{"action":"labeled" }'), sig)).toBe(false);
  expect(validSignature('s3cret', body, sig.replace('sha256=', 'sha1='))).toBe(false);
  expect(validSignature('s3cret', body, sig.slice(0, -2))).toBe(false);
  expect(validSignature('s3cret', body, 'sha256=zz')).toBe(false);
  expect(validSignature('s3cret', body, undefined)).toBe(false);
});
