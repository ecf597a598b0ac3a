// Reading blobs from a repository that goes away mid-read (eval removes a clone while the Curator still indexes
// it): the read fails with a GitError; the process survives (an EPIPE on git's stdin used to kill it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobReader } from './blob-reader.ts';
import { GitError } from './errors.ts';
import { readBlobs } from './git.ts';

// More ids than a pipe buffer holds, so the write is still going when git gives up.
const ids = Array.from({ length: 20_000 }, (_, i) => i.toString(16).padStart(40, '0'));

describe('git blob reads on a repository that is gone', () => {
  it('readBlobs rejects with a GitError instead of crashing on EPIPE', async () => {
    const gone = mkdtempSync(join(tmpdir(), 'codemesh-gone-'));
    rmSync(gone, { recursive: true });
    await expect(readBlobs(gone, ids)).rejects.toBeInstanceOf(GitError);
  });

  it('BlobReader rejects pending reads instead of crashing on EPIPE', async () => {
    const gone = mkdtempSync(join(tmpdir(), 'codemesh-gone-'));
    rmSync(gone, { recursive: true });
    const r = new BlobReader(gone);
    const all = await Promise.allSettled(ids.slice(0, 5000).map((id) => r.read(id)));
    expect(all.every((x) => x.status === 'rejected')).toBe(true);
  });
});
