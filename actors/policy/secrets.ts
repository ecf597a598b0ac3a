// The secret scanner: runs the rules over the ADDED lines of a unified diff, reports findings (never the
// secret) and returns the diff with each secret replaced by `[REDACTED:<rule>]`, line for line.
import type { SecretFinding, SecretRule, SecretRuleBundle } from '../../schemas/index.ts';
import { defaultSecretRules } from './rules.ts';

export interface SecretScan {
  findings: SecretFinding[];
  /** The diff with every secret replaced by its marker (the input itself when nothing was found). */
  diff: string;
}

/** What stands in a redacted diff where a secret was. */
export const redactionMarker = (ruleId: string): string => `[REDACTED:${ruleId}]`;

/** A marker left from an earlier redaction is not a secret. */
const MARKER = /^\[REDACTED:[a-z0-9-]+\]$/;
const PREVIEW_CHARS = 160;

/** Shannon entropy of a string in bits per character. */
export function shannonEntropy(s: string): number {
  if (!s) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...s].length;
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log2(c / n);
  return h;
}

interface CompiledRule {
  rule: SecretRule;
  re: RegExp;
  end?: RegExp;
  keywords: string[];
  paths: RegExp[];
  values: RegExp[];
}

interface Compiled {
  rules: CompiledRule[];
  paths: RegExp[];
  values: RegExp[];
}

const cache = new WeakMap<SecretRuleBundle, Compiled>();

function compile(bundle: SecretRuleBundle): Compiled {
  const hit = cache.get(bundle);
  if (hit) return hit;
  const rx = (src: string) => new RegExp(src, 'u');
  const compiled: Compiled = {
    paths: bundle.allowlist.paths.map(rx),
    values: [...bundle.allowlist.regexes.map(rx), MARKER],
    rules: bundle.rules.map((rule) => ({
      rule,
      // `d`: match indices, so the capture's own position is redacted, not the whole match.
      re: new RegExp(rule.regex, `gdu${rule.caseInsensitive ? 'i' : ''}`),
      end: rule.blockEnd ? new RegExp(rule.blockEnd, 'u') : undefined,
      keywords: rule.keywords.map((k) => k.toLowerCase()),
      paths: (rule.allowlist?.paths ?? []).map(rx),
      values: (rule.allowlist?.regexes ?? []).map(rx),
    })),
  };
  cache.set(bundle, compiled);
  return compiled;
}

interface Span {
  start: number;
  end: number;
  ruleId: string;
  description: string;
}

/** The secrets of one added line, by rule order; a span already taken by an earlier rule is not re-reported. */
function lineSpans(text: string, file: string, c: Compiled): { spans: Span[]; opens?: CompiledRule } {
  const spans: Span[] = [];
  let opens: CompiledRule | undefined;
  const lower = text.toLowerCase();
  for (const r of c.rules) {
    if (r.keywords.length > 0 && !r.keywords.some((k) => lower.includes(k))) continue;
    if (r.paths.some((p) => p.test(file))) continue;
    for (const m of text.matchAll(r.re)) {
      const g = r.rule.secretGroup ?? (m.length > 1 ? 1 : 0);
      const secret = m[g];
      const at = m.indices?.[g];
      if (secret === undefined || !at) continue;
      if (r.rule.entropy !== undefined && shannonEntropy(secret) < r.rule.entropy) continue;
      if ([...c.values, ...r.values].some((v) => v.test(secret))) continue;
      let [start, end] = at;
      if (spans.some((s) => start < s.end && s.start < end)) continue;
      if (r.end) {
        // A key block: on this line up to its END marker, else to the end of the line and on.
        const rest = text.slice(end);
        const close = r.end.exec(rest);
        if (close) end += close.index + close[0].length;
        else {
          end = text.length;
          opens = r;
        }
      }
      spans.push({ start, end, ruleId: r.rule.id, description: r.rule.description });
    }
  }
  return { spans, opens };
}

function redactLine(text: string, spans: Span[]): string {
  let out = text;
  for (const s of [...spans].sort((a, b) => b.start - a.start))
    out = out.slice(0, s.start) + redactionMarker(s.ruleId) + out.slice(s.end);
  return out;
}

function preview(redacted: string, ruleId: string): string {
  const line = redacted.trim();
  if (line.length <= PREVIEW_CHARS) return line;
  const from = Math.max(0, line.indexOf(redactionMarker(ruleId)) - 60);
  return line.slice(from, from + PREVIEW_CHARS);
}

function newPath(header: string): string {
  let p = header.slice(4).trim();
  if (p.startsWith('"') && p.endsWith('"')) p = p.slice(1, -1);
  return p.startsWith('b/') ? p.slice(2) : p;
}

/**
 * Scans the added lines of a unified diff (`git diff` format). Context and removed lines are never scanned:
 * they are already in the repository. The redacted diff has the same lines and hunk headers, so it still
 * applies where the original did — with the markers instead of the secrets.
 *
 * @example
 * const { findings, diff } = scanDiff(patch.diff);
 * // findings: [{ ruleId: 'aws-access-key-id', file: 'app.py', line: 3, preview: 'KEY = "[REDACTED:aws-access-key-id]"' }]
 */
export function scanDiff(diff: string, bundle: SecretRuleBundle = defaultSecretRules): SecretScan {
  const c = compile(bundle);
  const lines = diff.split('\n');
  const findings: SecretFinding[] = [];
  let file = '';
  let oldLeft = 0;
  let newLeft = 0;
  let newLine = 0;
  let block: CompiledRule | undefined;
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (oldLeft > 0 || newLeft > 0) {
      const tag = l[0];
      if (tag === '+') {
        const text = l.slice(1);
        const skip = c.paths.some((p) => p.test(file));
        if (block) {
          // Inside a key block every line is key material.
          lines[i] = `+${redactionMarker(block.rule.id)}`;
          if (block.end?.test(text)) block = undefined;
          changed = true;
        } else if (!skip && file !== '/dev/null') {
          const { spans, opens } = lineSpans(text, file, c);
          if (spans.length > 0) {
            const redacted = redactLine(text, spans);
            lines[i] = `+${redacted}`;
            changed = true;
            for (const s of spans)
              findings.push({
                ruleId: s.ruleId,
                description: s.description,
                file,
                line: newLine,
                preview: preview(redacted, s.ruleId),
              });
            block = opens;
          }
        }
        newLeft--;
        newLine++;
      } else if (tag === '-') {
        oldLeft--;
        block = undefined;
      } else if (tag === '\\') {
        // "\ No newline at end of file"
      } else {
        oldLeft--;
        newLeft--;
        newLine++;
        block = undefined;
      }
      continue;
    }
    block = undefined;
    if (l.startsWith('+++ ')) file = newPath(l);
    else if (l.startsWith('diff --git ')) file = '';
    else {
      const h = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l);
      if (h) {
        oldLeft = h[1] === undefined ? 1 : Number(h[1]);
        newLine = Number(h[2]);
        newLeft = h[3] === undefined ? 1 : Number(h[3]);
      }
    }
  }
  return { findings, diff: changed ? lines.join('\n') : diff };
}

/**
 * Redacts free text (a model's reply kept in a conversation), every line scanned as if added. Returns the text
 * with each secret replaced by its marker, and how many were found.
 */
export function redactText(
  text: string,
  bundle: SecretRuleBundle = defaultSecretRules,
): { text: string; found: number } {
  const c = compile(bundle);
  const lines = text.split('\n');
  let block: CompiledRule | undefined;
  let found = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (block) {
      lines[i] = redactionMarker(block.rule.id);
      if (block.end?.test(l)) block = undefined;
      continue;
    }
    const { spans, opens } = lineSpans(l, '', c);
    if (spans.length === 0) continue;
    found += spans.length;
    lines[i] = redactLine(l, spans);
    block = opens;
  }
  return { text: found > 0 ? lines.join('\n') : text, found };
}
