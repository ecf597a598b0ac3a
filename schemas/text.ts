// Text that every store accepts: no NUL bytes (Postgres text and jsonb refuse them) and no lone UTF-16
// surrogates (not encodable as UTF-8; jsonb refuses their escapes). Checked at every entry, cleaned before writes.
import { z } from 'zod';

export const UNSAFE_TEXT_MESSAGE = 'contains a NUL byte or a lone UTF-16 surrogate';

// Without the `u` flag the pattern sees UTF-16 code units: a high surrogate not followed by a low one, or a
// low one not preceded by a high one. (String#isWellFormed is Node 20 but not in this TS lib.)
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

export function isSafeText(s: string): boolean {
  return !UNSAFE.test(s);
}

/** A string schema that refuses NUL bytes and lone surrogates. */
export const safeString = () => z.string().refine(isSafeText, UNSAFE_TEXT_MESSAGE);

/**
 * The path (`a.b.0`) of the first string, or object key, in a JSON value that holds unsafe text.
 * @example findUnsafeText({ title: 'a\u0000' }) // 'title'
 */
export function findUnsafeText(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return isSafeText(value) ? undefined : path.join('.') || '(body)';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findUnsafeText(value[i], [...path, String(i)]);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isSafeText(k)) return [...path, '(key)'].join('.');
      const hit = findUnsafeText(v, [...path, k]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** The same text with each NUL and lone surrogate replaced by U+FFFD. */
export function toSafeText(s: string): string {
  return isSafeText(s) ? s : s.replace(UNSAFE_ALL, '\uFFFD');
}

/** A deep copy of a JSON-like value with every string (and key) made safe; other values as they are. */
export function toSafeValue<T>(value: T): T {
  if (typeof value === 'string') return toSafeText(value) as T;
  if (Array.isArray(value)) return value.map((v) => toSafeValue(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toSafeText(k), toSafeValue(v)])) as T;
  return value;
}
