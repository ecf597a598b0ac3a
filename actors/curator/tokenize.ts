// Splits code and prose into search terms: identifiers on camelCase/snake_case boundaries, lower-cased.
// A compound identifier yields its parts and itself, so `get_queryset` matches both `queryset` and the name.

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;
const CAMEL = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

/** Words too common in code or English to help rank files. */
export const STOPWORDS = new Set(
  (
    'a an and are as at be but by for from has have if in into is it its not of on or so such that the their ' +
    'then there these they this to was were will with self cls def return none true false import class pass ' +
    'i you we he she my me our your do does did can could would should may might also just when what which ' +
    'who how why where all any some no yes than too very s t get set use used using one two new let var const ' +
    'function null undefined this else elif try except finally raise while break continue lambda yield ' +
    'args kwargs int str object value values'
  ).split(' '),
);

/** Parts of one identifier, lower-cased: `HTTPResponseNotFound` → `http response not found`. */
export function splitIdentifier(ident: string): string[] {
  const parts: string[] = [];
  for (const piece of ident.split('_')) {
    if (!piece) continue;
    const m = piece.match(CAMEL);
    if (m) for (const p of m) parts.push(p.toLowerCase());
  }
  return parts;
}

/** Adds the terms of `text` to `tf` (term → count) and returns it. */
export function addTerms(text: string, tf: Map<string, number> = new Map(), weight = 1): Map<string, number> {
  for (const m of text.matchAll(IDENT)) {
    const ident = m[0];
    if (ident.length > 64) continue;
    const parts = splitIdentifier(ident);
    for (const p of parts) {
      if (p.length < 2 || STOPWORDS.has(p)) continue;
      tf.set(p, (tf.get(p) ?? 0) + weight);
    }
    if (parts.length > 1) {
      const whole = ident.toLowerCase().replace(/^_+|_+$/g, '');
      if (!STOPWORDS.has(whole)) tf.set(whole, (tf.get(whole) ?? 0) + weight);
    }
  }
  return tf;
}

/** Terms of a path: its directories and file name, split like identifiers (`db/models/query.py`). */
export function pathTerms(
  path: string,
  tf: Map<string, number> = new Map(),
  weight = 1,
): Map<string, number> {
  return addTerms(path.replace(/\.[A-Za-z0-9]+$/, '').replace(/[/.-]/g, ' '), tf, weight);
}

/** Term frequencies of a text. */
export function termFrequencies(text: string): Map<string, number> {
  return addTerms(text);
}
