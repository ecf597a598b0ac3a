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
  let parts = splitCache.get(ident);
  if (!parts) {
    parts = split(ident);
    if (splitCache.size >= 500_000) splitCache.clear();
    splitCache.set(ident, parts);
  }
  return parts;
}

// Identifiers repeat across a repository: remembering their split saves most of the tokenising work.
const splitCache = new Map<string, string[]>();

function split(ident: string): string[] {
  const parts: string[] = [];
  for (const piece of ident.split('_')) {
    if (!piece) continue;
    const m = piece.match(CAMEL);
    if (m) for (const p of m) parts.push(p.toLowerCase());
  }
  return parts;
}

const termCache = new Map<string, string[]>();

/** Search terms of one identifier: its parts without stopwords, and the whole if it has several parts. */
function identTerms(ident: string): string[] {
  let terms = termCache.get(ident);
  if (terms) return terms;
  const parts = splitIdentifier(ident);
  terms = parts.filter((p) => p.length >= 2 && !STOPWORDS.has(p));
  if (parts.length > 1) {
    const whole = ident.toLowerCase().replace(/^_+|_+$/g, '');
    if (!STOPWORDS.has(whole)) terms.push(whole);
  }
  if (termCache.size >= 500_000) termCache.clear();
  termCache.set(ident, terms);
  return terms;
}

/** Adds the terms of `text` to `tf` (term → count) and returns it. */
export function addTerms(text: string, tf: Map<string, number> = new Map(), weight = 1): Map<string, number> {
  for (const m of text.matchAll(IDENT)) {
    const ident = m[0];
    if (ident.length > 64) continue;
    for (const t of identTerms(ident)) tf.set(t, (tf.get(t) ?? 0) + weight);
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
