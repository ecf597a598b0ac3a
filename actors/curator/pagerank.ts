// Personalized PageRank over the file graph: importance flows from the files a query matched to the
// files they import and reference.
import type { FileGraph } from './symbol-graph.ts';

export interface PageRankOptions {
  damping?: number;
  iterations?: number;
}

/**
 * Scores per graph node (summing to 1) for a restart distribution given as path → weight; undefined when
 * no seed is a node with a positive weight.
 */
export function personalizedPageRankNodes(
  graph: FileGraph,
  seeds: Map<string, number>,
  options: PageRankOptions = {},
): Float64Array | undefined {
  const damping = options.damping ?? 0.85;
  const iterations = options.iterations ?? 20;
  const n = graph.paths.length;
  const restart = new Float64Array(n);
  let total = 0;
  for (const [path, w] of seeds) {
    const i = graph.indexOf.get(path);
    if (i === undefined || w <= 0) continue;
    restart[i]! += w;
    total += w;
  }
  if (total === 0) return undefined;
  for (let i = 0; i < n; i++) restart[i]! /= total;
  let rank = Float64Array.from(restart);
  let next = new Float64Array(n);
  const { offsets, targets, weights, outWeight } = graph;
  for (let it = 0; it < iterations; it++) {
    next.fill(0);
    let dangling = 0;
    for (let i = 0; i < n; i++) {
      const r = rank[i]!;
      if (r === 0) continue;
      const ow = outWeight[i]!;
      if (ow === 0) {
        dangling += r;
        continue;
      }
      const share = (damping * r) / ow;
      const end = offsets[i + 1]!;
      for (let e = offsets[i]!; e < end; e++) next[targets[e]!]! += share * weights[e]!;
    }
    const back = 1 - damping + damping * dangling;
    for (let i = 0; i < n; i++) next[i]! += back * restart[i]!;
    [rank, next] = [next, rank];
  }
  return rank;
}

/** Scores per path (summing to 1) for a restart distribution given as path → weight. */
export function personalizedPageRank(
  graph: FileGraph,
  seeds: Map<string, number>,
  options: PageRankOptions = {},
): Map<string, number> {
  const out = new Map<string, number>();
  const rank = personalizedPageRankNodes(graph, seeds, options);
  if (!rank) return out;
  for (let i = 0; i < rank.length; i++) if (rank[i]! > 0) out.set(graph.paths[i]!, rank[i]!);
  return out;
}
