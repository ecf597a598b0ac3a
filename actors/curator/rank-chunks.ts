// Ranks chunks: their own BM25, their file's fused score and symbols the query names; at most three chunks
// per file, each further one damped, so a result shows several places rather than one file's every method.
import type { Mentions } from './mentions.ts';
import type { FileTable } from './signals.ts';
import type { ChunkKind } from './types.ts';

export interface RankedChunk {
  path: string;
  index: number;
  symbol: string;
  kind: ChunkKind;
  startLine: number;
  endLine: number;
  score: number;
}

const PER_FILE = 3;
const DAMPING = 0.8;

/**
 * @param chunkDocs `chunkLex` documents worth considering, with `chunkLex` their BM25 normalised to the best chunk
 * @param topFiles files (of `table`) whose every chunk is considered, matched or not, best first
 * @param fileScore the fused score of a file; `maxFile` its maximum over files (or 0)
 */
export function rankChunks(
  table: FileTable,
  chunkDocs: number[],
  chunkLex: number[],
  topFiles: number[],
  fileScore: (file: number) => number,
  maxFile: number,
  mentions: Mentions,
  topK: number,
): RankedChunk[] {
  const { chunkMark } = table.scratch;
  const candidates: RankedChunk[] = [];
  const consider = (f: number, i: number, lex: number) => {
    const path = table.paths[f]!;
    const c = table.records[f]!.chunks[i];
    if (!c) return;
    const file = fileScore(f) / (maxFile || 1);
    const last = c.symbol.slice(c.symbol.lastIndexOf('.') + 1);
    const named = Math.min(
      2,
      (mentions.symbolNames.get(c.symbol) ?? 0) + (last ? (mentions.symbolNames.get(last) ?? 0) * 0.5 : 0),
    );
    const score = lex + file + 0.5 * named;
    candidates.push({
      path,
      index: i,
      symbol: c.symbol,
      kind: c.kind,
      startLine: c.startLine,
      endLine: c.endLine,
      score,
    });
  };
  try {
    for (let k = 0; k < chunkDocs.length; k++) {
      const doc = chunkDocs[k]!;
      if (chunkMark[doc]) continue;
      chunkMark[doc] = 1;
      const f = table.chunkDocSlot[doc]!;
      if (f >= 0) consider(f, table.chunkDocIndex[doc]!, chunkLex[k]!);
    }
    for (const f of topFiles) {
      const start = table.chunkStart[f]!;
      const n = table.chunkStart[f + 1]! - start;
      for (let i = 0; i < n; i++) {
        const doc = table.chunkDocs[start + i]!;
        if (doc >= 0 && chunkMark[doc]) continue;
        consider(f, i, 0);
      }
    }
  } finally {
    for (const doc of chunkDocs) chunkMark[doc] = 0;
  }
  candidates.sort((a, b) => b.score - a.score);
  const perFile = new Map<string, number>();
  const out: RankedChunk[] = [];
  for (const c of candidates) {
    const n = perFile.get(c.path) ?? 0;
    if (n >= PER_FILE) continue;
    perFile.set(c.path, n + 1);
    out.push({ ...c, score: c.score * DAMPING ** n });
  }
  out.sort((a, b) => b.score - a.score);
  return out.slice(0, topK);
}
