// Entry of the Curator's worker threads (see `offloop.ts`). Plain JavaScript, so Node loads it without a
// loader in every way codemesh runs (`node bin/codemesh.js`, `npx tsx`, vitest); it registers tsx in this
// thread and then imports the TypeScript module named in `workerData.entry`.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
