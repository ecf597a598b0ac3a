// The in-memory index of one repository at one commit: file records, two BM25 indices (files, chunks),
// the symbol index, the module resolver and the file graph. Updated in place when moved to another commit.
import { Bm25Index } from './bm25.ts';
import type { CommitHistory } from './history.ts';
import type { FileRecord } from './extract-file.ts';
import { ModuleResolver } from './imports.ts';
import { buildDefIndex, buildFileGraph, type FileGraph } from './symbol-graph.ts';
import { addTerms, pathTerms } from './tokenize.ts';
import type { IndexModes, SkippedCounts } from './types.ts';

export const chunkId = (path: string, i: number) => `${path}#${i}`;

export function parseChunkId(id: string): { path: string; index: number } {
  const hash = id.lastIndexOf('#');
  return { path: id.slice(0, hash), index: Number(id.slice(hash + 1)) };
}

function nameTerms(r: FileRecord): Map<string, number> {
  const tf = pathTerms(r.path, new Map(), 2);
  for (const d of r.defs) if (!d.includes('.')) addTerms(d, tf);
  return tf;
}

export class RepoIndex {
  commit: string;
  readonly records = new Map<string, FileRecord>();
  readonly fileLex = new Bm25Index();
  readonly chunkLex = new Bm25Index();
  /** Files as the names they define plus their path: matches prose that names what a file is about. */
  readonly nameLex = new Bm25Index();
  defs = new Map<string, string[]>();
  resolver = new ModuleResolver([]);
  byBasename = new Map<string, string[]>();
  /** The commit's past (set by the Curator); see `historyAtCommit`. */
  history: CommitHistory | undefined;
  private graphCache: FileGraph | undefined;

  constructor(commit: string, records: Iterable<FileRecord>) {
    this.commit = commit;
    for (const r of records) this.put(r);
    this.rebuildDerived();
  }

  /** Moves the index to `commit`: replaces changed files' records and drops deleted paths. */
  update(commit: string, changed: FileRecord[], deleted: string[]): void {
    for (const path of deleted) this.drop(path);
    for (const r of changed) this.put(r);
    this.commit = commit;
    this.rebuildDerived();
  }

  /** The history when it is at this index's commit (never a history of another commit). */
  get historyAtCommit(): CommitHistory | undefined {
    return this.history?.commit === this.commit ? this.history : undefined;
  }

  /** The file graph (imports and references), rebuilt with every change so queries never pay for it. */
  get graph(): FileGraph {
    this.graphCache ??= buildFileGraph(this.records, this.defs, this.resolver);
    return this.graphCache;
  }

  summary(): { files: number; chunks: number; symbols: number; skipped: SkippedCounts; modes: IndexModes } {
    const skipped: SkippedCounts = { binary: 0, tooLarge: 0, parseErrors: 0 };
    const modes: IndexModes = {
      ast: { files: 0, chunks: 0 },
      symbols: { symbols: this.defs.size, definitions: 0, references: 0, imports: 0 },
      docs: { files: 0, chunks: 0 },
    };
    let files = 0;
    let chunks = 0;
    for (const r of this.records.values()) {
      if (r.skip === 'binary') skipped.binary++;
      else if (r.skip === 'tooLarge') skipped.tooLarge++;
      else {
        files++;
        chunks += r.chunks.length;
        if (r.parseError) skipped.parseErrors++;
        const part = r.language === 'text' ? modes.docs : modes.ast;
        part.files++;
        part.chunks += r.chunks.length;
        modes.symbols.definitions += r.defs.length;
        modes.symbols.references += r.refs.size;
        modes.symbols.imports += r.imports.length;
      }
    }
    return { files, chunks, symbols: this.defs.size, skipped, modes };
  }

  private put(r: FileRecord): void {
    this.drop(r.path);
    this.records.set(r.path, r);
    if (r.skip) return;
    this.fileLex.put(r.path, r.terms);
    if (r.language !== 'text') this.nameLex.put(r.path, nameTerms(r));
    r.chunkTerms.forEach((tf, i) => {
      this.chunkLex.put(chunkId(r.path, i), tf, r.path);
    });
  }

  private drop(path: string): void {
    const old = this.records.get(path);
    if (!old) return;
    this.records.delete(path);
    this.fileLex.delete(path);
    this.nameLex.delete(path);
    for (let i = 0; i < old.chunks.length; i++) this.chunkLex.delete(chunkId(path, i));
  }

  private rebuildDerived(): void {
    const live = [...this.records.values()].filter((r) => !r.skip);
    this.defs = buildDefIndex(live);
    this.resolver = new ModuleResolver(live.map((r) => r.path));
    this.byBasename = new Map();
    for (const r of live) {
      const base = r.path.slice(r.path.lastIndexOf('/') + 1);
      const list = this.byBasename.get(base);
      if (list) list.push(r.path);
      else this.byBasename.set(base, [r.path]);
    }
    this.graphCache = buildFileGraph(this.records, this.defs, this.resolver);
  }
}
