// Ranks chunks: their own BM25, their file's fused score and symbols the query names; at most three chunks
// per file, each further one damped, so a result shows several places rather than one file's every method.
import type { Mentions } from './mentions.ts';
import { parseChunkId, type RepoIndex } from './repo-index.ts';
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
 * @param chunkScores chunk id → BM25 normalised to the best chunk (only chunks worth considering)
 * @param topFiles files whose every chunk is considered, matched or not
 */
export function rankChunks(
  index: RepoIndex,
  chunkScores: Map<string, number>,
  topFiles: Set<string>,
  fileScores: Map<string, number>,
  mentions: Mentions,
  topK: number,
): RankedChunk[] {
  let maxFile = 0;
  for (const v of fileScores.values()) if (v > maxFile) maxFile = v;
  const keys = new Set<string>();
  for (const id of chunkScores.keys()) keys.add(id);
  for (const path of topFiles) {
    const n = index.records.get(path)?.chunks.length ?? 0;
    for (let i = 0; i < n; i++) keys.add(`${path}#${i}`);
  }
  const candidates: RankedChunk[] = [];
  for (const key of keys) {
    const { path, index: i } = parseChunkId(key);
    const c = index.records.get(path)?.chunks[i];
    if (!c) continue;
    const lex = chunkScores.get(key) ?? 0;
    const file = (fileScores.get(path) ?? 0) / (maxFile || 1);
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
