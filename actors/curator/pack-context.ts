// Packs ranked chunks into a token budget for a model: best first, overlapping spans merged, duplicates
// (the same text at two places) dropped, and each snippet labelled with its source path and lines.
import type { ChunkHit, PackedContext, PackedSnippet } from './types.ts';

/** A rough token estimate (≈ 4 characters a token for code), good enough for budgeting. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

function header(s: { path: string; startLine: number; endLine: number; symbol: string }): string {
  return `# ${s.path}:${s.startLine}-${s.endLine}${s.symbol ? ` (${s.symbol})` : ''}`;
}

/**
 * @example
 * const { chunks } = await searchRepo({ repoPath, query: issue, topK: 30 });
 * const ctx = packContext(chunks, { tokenBudget: 4000 });
 * prompt += ctx.text;
 */
export function packContext(
  results: ChunkHit[],
  opts: { tokenBudget: number; maxSnippetTokens?: number },
): PackedContext {
  const maxSnippet = opts.maxSnippetTokens ?? Math.max(200, Math.floor(opts.tokenBudget / 3));
  const snippets: PackedSnippet[] = [];
  const seenText = new Set<string>();
  let used = 0;
  for (const hit of [...results].sort((a, b) => b.score - a.score)) {
    const inside = snippets.find(
      (s) => s.path === hit.path && s.startLine <= hit.startLine && s.endLine >= hit.endLine,
    );
    if (inside) continue;
    const key = hit.text.replace(/\s+/g, ' ').trim();
    if (!key || seenText.has(key)) continue;
    let text = hit.text;
    let endLine = hit.endLine;
    if (estimateTokens(text) > maxSnippet) {
      const lines = text.split('\n');
      let kept = 0;
      let chars = 0;
      while (kept < lines.length && chars + lines[kept]!.length + 1 <= maxSnippet * 4)
        chars += lines[kept++]!.length + 1;
      text = `${lines.slice(0, Math.max(1, kept)).join('\n')}\n`;
      endLine = hit.startLine + Math.max(1, kept) - 1;
    }
    const snippet = {
      path: hit.path,
      startLine: hit.startLine,
      endLine,
      symbol: hit.symbol,
      text,
      tokens: 0,
    };
    snippet.tokens = estimateTokens(header(snippet)) + estimateTokens(text) + 1;
    if (used + snippet.tokens > opts.tokenBudget) continue;
    // A snippet that contains earlier, smaller ones from the same file replaces them.
    for (let i = snippets.length - 1; i >= 0; i--) {
      const s = snippets[i]!;
      if (s.path === hit.path && s.startLine >= hit.startLine && s.endLine <= endLine) {
        used -= s.tokens;
        snippets.splice(i, 1);
      }
    }
    seenText.add(key);
    snippets.push(snippet);
    used += snippet.tokens;
  }
  const text = snippets
    .map((s) => `${header(s)}\n${s.text.endsWith('\n') ? s.text : `${s.text}\n`}`)
    .join('\n');
  return { snippets, tokens: used, text };
}
