// Cuts a text file that has no grammar here (docs, configs, templates) into fixed windows of lines.
import type { ChunkSpan } from './chunk-ast.ts';

export const WINDOW_LINES = 60;

/** Windows of `size` lines; the last window takes the remainder. An empty file has no chunk. */
export function chunkLines(lineCount: number, size = WINDOW_LINES): ChunkSpan[] {
  const chunks: ChunkSpan[] = [];
  for (let start = 1; start <= lineCount; start += size) {
    chunks.push({
      symbol: '',
      kind: 'window',
      startLine: start,
      endLine: Math.min(lineCount, start + size - 1),
    });
  }
  return chunks;
}

export function countLines(text: string): number {
  if (text.length === 0) return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') ? n - 1 : n;
}
