// The symbol index (definitions per name) and the file graph: an edge A → B when A imports B or uses a
// name that B defines (repo-map style). Names defined in many files link nothing: they say little.
import type { FileRecord } from './extract-file.ts';
import type { ModuleResolver } from './imports.ts';

/** Names defined in more files than this make no reference edges. */
const MAX_DEF_FILES = 4;

/** A directed weighted graph over files, in compressed rows for fast PageRank. */
export interface FileGraph {
  paths: string[];
  indexOf: Map<string, number>;
  /** Row starts into `targets`/`weights` (length paths.length + 1). */
  offsets: Int32Array;
  targets: Int32Array;
  weights: Float64Array;
  /** Sum of out-edge weights per node. */
  outWeight: Float64Array;
}

/** symbol → paths that define it; plain names and `Class.method` names both. */
export function buildDefIndex(records: Iterable<FileRecord>): Map<string, string[]> {
  const defs = new Map<string, string[]>();
  for (const r of records) {
    for (const d of r.defs) {
      const list = defs.get(d);
      if (list) list.push(r.path);
      else defs.set(d, [r.path]);
    }
  }
  return defs;
}

export function buildFileGraph(
  records: Map<string, FileRecord>,
  defs: Map<string, string[]>,
  resolver: ModuleResolver,
): FileGraph {
  const paths = [...records.values()].filter((r) => !r.skip && r.language !== 'text').map((r) => r.path);
  paths.sort();
  const indexOf = new Map(paths.map((p, i) => [p, i] as const));
  const offsets = new Int32Array(paths.length + 1);
  const targets: number[] = [];
  const weights: number[] = [];
  const outWeight = new Float64Array(paths.length);
  const row = new Map<number, number>();
  for (let i = 0; i < paths.length; i++) {
    const rec = records.get(paths[i]!)!;
    row.clear();
    for (const spec of rec.imports) {
      for (const target of resolver.resolve(spec)) {
        const j = indexOf.get(target);
        if (j !== undefined && j !== i) row.set(j, (row.get(j) ?? 0) + 1);
      }
    }
    for (const [name, count] of rec.refs) {
      const owners = defs.get(name);
      if (!owners || owners.length > MAX_DEF_FILES || name.startsWith('__')) continue;
      const w = (0.5 * Math.sqrt(count)) / owners.length;
      for (const owner of owners) {
        const j = indexOf.get(owner);
        if (j !== undefined && j !== i) row.set(j, (row.get(j) ?? 0) + w);
      }
    }
    offsets[i] = targets.length;
    for (const [j, w] of row) {
      targets.push(j);
      weights.push(w);
      outWeight[i]! += w;
    }
  }
  offsets[paths.length] = targets.length;
  return {
    paths,
    indexOf,
    offsets,
    targets: Int32Array.from(targets),
    weights: Float64Array.from(weights),
    outWeight,
  };
}

/** Files the given file links to (imports and referenced definitions), strongest first. */
export function neighbours(graph: FileGraph, path: string): Array<{ path: string; weight: number }> {
  const i = graph.indexOf.get(path);
  if (i === undefined) return [];
  const out: Array<{ path: string; weight: number }> = [];
  for (let e = graph.offsets[i]!; e < graph.offsets[i + 1]!; e++) {
    out.push({ path: graph.paths[graph.targets[e]!]!, weight: graph.weights[e]! });
  }
  return out.sort((a, b) => b.weight - a.weight);
}
