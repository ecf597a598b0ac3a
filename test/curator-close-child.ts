// A process that uses an `OffloopCurator` the way `codemesh eval swe` and `codemesh run` do at their end, for
// `actors/curator/offloop-close.int.test.ts`. Writes `marker` just before its natural end; its exit code and
// the marker say whether tearing the Curator down took the whole process with it.
//   node --import tsx test/curator-close-child.ts <mode> <repo> <cacheDir> <marker> [waitMs]
// mode `close`: starts a cold index, waits, closes the Curator mid-build, writes the marker, then ends.
// mode `exit`: starts a cold index, waits, writes the marker and calls `process.exit(0)` without closing.
// mode `die`: starts a cold index, waits, writes the marker and SIGKILLs itself (no exit handler runs).
// mode `idle`: a search to the end, then nothing: an idle Curator must not keep the process alive.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { OffloopCurator } from '../actors/curator/offloop.ts';

const [mode, repoPath, cacheDir, marker, waitMs = '1500'] = process.argv.slice(2);
if (!repoPath || !cacheDir || !marker) throw new Error('usage: <mode> <repo> <cacheDir> <marker> [waitMs]');
const curator = new OffloopCurator({ cacheDir });
if (mode === 'idle') {
  await curator.search({ repoPath, query: 'missing value', topK: 3 });
  writeFileSync(marker, 'idle');
} else {
  const building = curator.index({ repoPath }).catch((err: Error) => err.message);
  await sleep(Number(waitMs));
  if (mode === 'exit' || mode === 'die') {
    writeFileSync(marker, mode);
    if (mode === 'die') process.kill(process.pid, 'SIGKILL');
    process.exit(0);
  }
  await curator.close();
  writeFileSync(marker, `closed: ${await building}`);
}
