// A small syntax highlighter for diff lines: keywords, strings, comments and numbers of JavaScript/TypeScript,
// Python and Go. Tokens are plain text with a kind; the view renders each as a text node (never HTML), so a
// diff cannot inject markup. Multi-line constructs (block comments, Python's triple-quoted strings, template
// and raw strings) carry over to the next line through `LexState`.

export type Lang = 'js' | 'py' | 'go';
export type TokenKind = 'text' | 'kw' | 'str' | 'com' | 'num';
export interface Token {
  kind: TokenKind;
  text: string;
}
/** What an unfinished line leaves open: the closing delimiter the next line starts inside of. */
export interface LexState {
  open?: { kind: 'com' | 'str'; close: string };
}

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));
const KEYWORDS: Record<Lang, Set<string>> = {
  js: words(`abstract any as async await boolean break case catch class const continue debugger declare default
    delete do else enum export extends false finally for from function get if implements import in infer
    instanceof interface keyof let namespace never new null number of private protected public readonly
    return satisfies set static string super switch this throw true try type typeof undefined unknown var
    void while with yield`),
  py: words(`False None True and as assert async await break case class continue def del elif else except
    finally for from global if import in is lambda match nonlocal not or pass raise return self try while
    with yield`),
  go: words(`any bool break byte case chan const continue default defer else error fallthrough false float64
    for func go goto if import int int64 interface iota map nil package range return rune select string
    struct switch true type uint var`),
};

const EXT: Record<string, Lang> = {
  js: 'js',
  jsx: 'js',
  mjs: 'js',
  cjs: 'js',
  ts: 'js',
  tsx: 'js',
  mts: 'js',
  cts: 'js',
  py: 'py',
  pyi: 'py',
  go: 'go',
};

/** The language of a path by its extension; undefined: shown as plain text. */
export function langOf(path: string): Lang | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext ? EXT[ext] : undefined;
}

const NUMBER =
  /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)[njJ]?/;
const IDENT = /^[A-Za-z_$][\w$]*/;

/**
 * Splits one line into tokens; `state` is what the previous line left open (the result's `state` is for the
 * next line). The tokens' texts joined are the line, always.
 *
 * @example
 * tokenizeLine('  return a - b; // fixed', 'js').tokens
 * // [{text,'  '}, {kw,'return'}, {text,' a - b; '}, {com,'// fixed'}]
 */
export function tokenizeLine(
  line: string,
  lang: Lang | undefined,
  state: LexState = {},
): { tokens: Token[]; state: LexState } {
  const tokens: Token[] = [];
  const push = (kind: TokenKind, text: string) => {
    if (!text) return;
    const last = tokens.at(-1);
    if (last && last.kind === kind) last.text += text;
    else tokens.push({ kind, text });
  };
  if (!lang) {
    push('text', line);
    return { tokens, state: {} };
  }
  let i = 0;
  let open = state.open;
  // Inside a construct the previous line left open: up to its end (or the whole line).
  const closeOpen = () => {
    if (!open) return;
    // Strings esc with a backslash, except Go's raw strings (`...`); comments do not esc.
    const escapes = open.kind === 'str' && !(lang === 'go' && open.close === '`');
    const end = findClose(line, i, open.close, escapes ? '\\' : undefined);
    if (end < 0) {
      push(open.kind, line.slice(i));
      i = line.length;
      return;
    }
    push(open.kind, line.slice(i, end + open.close.length));
    i = end + open.close.length;
    open = undefined;
  };
  closeOpen();
  while (i < line.length) {
    const rest = line.slice(i);
    const c = line[i]!;
    // Comments.
    if ((lang === 'py' && c === '#') || (lang !== 'py' && rest.startsWith('//'))) {
      push('com', rest);
      break;
    }
    if (lang !== 'py' && rest.startsWith('/*')) {
      open = { kind: 'com', close: '*/' };
      push('com', '/*');
      i += 2;
      closeOpen();
      continue;
    }
    // Strings (Python's with their prefix: r'', b"", f'''...''').
    const pyPrefix = lang === 'py' ? /^(?:[rRbBuUfF]{1,2})?(?:'''|"""|'|")/.exec(rest) : null;
    if (pyPrefix) {
      const q = pyPrefix[0].replace(/^[A-Za-z]+/, '');
      const raw = /[rR]/.test(pyPrefix[0].slice(0, -q.length));
      push('str', pyPrefix[0]);
      i += pyPrefix[0].length;
      if (q.length === 3) {
        open = { kind: 'str', close: q };
        closeOpen();
      } else i = endOfString(line, i, q, raw ? undefined : '\\', push);
      continue;
    }
    if (lang !== 'py' && (c === '"' || c === "'" || c === '`')) {
      push('str', c);
      i++;
      if (c === '`') {
        open = { kind: 'str', close: '`' };
        closeOpen();
      } else i = endOfString(line, i, c, '\\', push);
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num && !/[\w$]/.test(line[i - 1] ?? '')) {
      push('num', num[0]);
      i += num[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      push(KEYWORDS[lang].has(id[0]) ? 'kw' : 'text', id[0]);
      i += id[0].length;
      continue;
    }
    push('text', c);
    i++;
  }
  return { tokens, state: open ? { open } : {} };
}

/** Index of `close` at or after `from`, skipping escaped characters; -1 when the line does not close it. */
function findClose(line: string, from: number, close: string, esc: string | undefined): number {
  for (let j = from; j < line.length; j++) {
    if (esc && line[j] === esc) {
      j++;
      continue;
    }
    if (line.startsWith(close, j)) return j;
  }
  return -1;
}

/** A one-line string from `from` (after its opening quote) to its closing quote, or the end of the line. */
function endOfString(
  line: string,
  from: number,
  quote: string,
  esc: string | undefined,
  push: (kind: TokenKind, text: string) => void,
): number {
  const end = findClose(line, from, quote, esc);
  const stop = end < 0 ? line.length : end + quote.length;
  push('str', line.slice(from, stop));
  return stop;
}
