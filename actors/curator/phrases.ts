// Exact phrases: the string literals of the code (error and warning messages, log lines, formats), split at
// their format placeholders, matched verbatim against an issue's text. An issue that quotes
// "Cannot resolve keyword 'foo' into field" names the file that raises it, often the only one.
//
// Extraction keeps single-line literals in ' or " (and JS template literals without a line break); triple-quoted
// strings (docstrings) are left out. Both sides are lower-cased with whitespace collapsed, so matching is by
// substring: a phrase counts when the query contains it.

/** Fragments shorter than this (characters, after normalising) or with fewer than three words are dropped. */
const MIN_PHRASE_CHARS = 18;
const MAX_PHRASE_CHARS = 300;
const MAX_PHRASES_PER_FILE = 4000;
/** Lookup key: a phrase's first characters. */
const KEY_CHARS = 12;

const STRING_RE = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\\n]|\\.)*`/g;
// printf-style (%s, %(name)s, %-5.2f), str.format / f-string / template fields ({x}, ${x}).
const PLACEHOLDER_RE =
  /%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdrifgxXeEcaoub]|\$?\{[^{}]*\}/g;

const normalisePhrase = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();

function unescapeLiteral(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' || c === 't' || c === 'r' ? ' ' : c));
}

/** The distinct phrases of a source file's string literals (see the module comment). */
export function extractPhrases(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(STRING_RE)) {
    const lit = m[0];
    // The closing quote of a triple-quoted string's first line looks like a literal of its own: skip those.
    const at = m.index ?? 0;
    if (text[at - 1] === lit[0] || text[at + lit.length] === lit[0]) continue;
    const body = lit.slice(1, -1);
    if (body.length < MIN_PHRASE_CHARS) continue;
    for (const part of unescapeLiteral(body).split(PLACEHOLDER_RE)) {
      const p = normalisePhrase(part);
      if (p.length < MIN_PHRASE_CHARS || p.length > MAX_PHRASE_CHARS) continue;
      if (p.split(' ').length < 3) continue;
      out.add(p);
      if (out.size >= MAX_PHRASES_PER_FILE) return [...out];
    }
  }
  return [...out];
}

/** All files' phrases, keyed by their first characters, with how many files hold each. */
export class PhraseIndex {
  private readonly byKey = new Map<string, number[]>();
  private readonly phrases: string[] = [];
  private readonly holders: number[][] = [];

  /** `filePhrases[f]`: the phrases of file f (any numbering the caller uses). */
  constructor(filePhrases: ReadonlyArray<readonly string[] | undefined>) {
    const idOf = new Map<string, number>();
    filePhrases.forEach((list, f) => {
      for (const p of list ?? []) {
        let id = idOf.get(p);
        if (id === undefined) {
          id = this.phrases.length;
          idOf.set(p, id);
          this.phrases.push(p);
          this.holders.push([]);
          const key = p.slice(0, KEY_CHARS);
          const ids = this.byKey.get(key);
          if (ids) ids.push(id);
          else this.byKey.set(key, [id]);
        }
        this.holders[id]!.push(f);
      }
    });
  }

  /**
   * Files holding phrases the query contains, each scored by the sum over its matched phrases of
   * (length / 60, at most 1) / (files holding the phrase): a message raised in one place names that place.
   */
  match(query: string): Map<number, number> {
    const q = normalisePhrase(query);
    const out = new Map<number, number>();
    const seen = new Set<number>();
    for (let i = 0; i + MIN_PHRASE_CHARS <= q.length; i++) {
      const ids = this.byKey.get(q.slice(i, i + KEY_CHARS));
      if (!ids) continue;
      for (const id of ids) {
        if (seen.has(id)) continue;
        const p = this.phrases[id]!;
        if (!q.startsWith(p, i)) continue;
        seen.add(id);
        const files = this.holders[id]!;
        const w = Math.min(1, p.length / 60) / files.length;
        for (const f of files) out.set(f, (out.get(f) ?? 0) + w);
      }
    }
    return out;
  }
}
