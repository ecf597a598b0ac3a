// Reads files of a commit from git and extracts their records: all of them, or only the paths a diff names.
import { extractFile, type FileRecord, MAX_FILE_BYTES, skippedRecord } from './extract-file.ts';
import { diffNames, listTree, readBlobs, type TreeEntry } from './git.ts';

/** Reads blobs in batches so a large repository never holds all its contents at once. */
/** Receives the content of every file read, so a caller can keep texts without reading them again. */
export type OnContent = (blob: string, content: Buffer) => void;

async function extractEntries(
  repoPath: string,
  entries: TreeEntry[],
  onContent?: OnContent,
): Promise<FileRecord[]> {
  const records: FileRecord[] = [];
  const toRead: TreeEntry[] = [];
  for (const e of entries) {
    if (e.size > MAX_FILE_BYTES) records.push(skippedRecord(e.path, e.blob, 'tooLarge'));
    else toRead.push(e);
  }
  const BATCH = 2000;
  for (let i = 0; i < toRead.length; i += BATCH) {
    const batch = toRead.slice(i, i + BATCH);
    const blobs = await readBlobs(repoPath, [...new Set(batch.map((e) => e.blob))]);
    for (const e of batch) {
      const content = blobs.get(e.blob);
      if (!content) continue;
      const record = extractFile(e.path, e.blob, content);
      records.push(record);
      if (!record.skip) onContent?.(e.blob, content);
    }
  }
  return records;
}

export async function buildAll(
  repoPath: string,
  commit: string,
  onContent?: OnContent,
): Promise<FileRecord[]> {
  return extractEntries(repoPath, listTree(repoPath, commit), onContent);
}

export interface Delta {
  changed: FileRecord[];
  deleted: string[];
  /** Paths `git diff --name-only from to` named. */
  names: string[];
}

/** Records for the paths that differ between two commits; only those files are read. */
export async function buildDelta(
  repoPath: string,
  from: string,
  to: string,
  known?: string[],
  onContent?: OnContent,
): Promise<Delta> {
  const names = known ?? diffNames(repoPath, from, to);
  if (names.length === 0) return { changed: [], deleted: [], names };
  const wanted = new Set(names);
  const entries = listTree(repoPath, to).filter((e) => wanted.has(e.path));
  const present = new Set(entries.map((e) => e.path));
  const deleted = names.filter((n) => !present.has(n));
  return { changed: await extractEntries(repoPath, entries, onContent), deleted, names };
}
