// Entry of a Curator engine's child process (see `engine-process.ts`). Plain JavaScript, so Node loads it
// without a loader in every way codemesh runs (`node bin/codemesh.js`, `npx tsx`, vitest); it registers tsx
// and then imports the TypeScript module named by its first argument (argv: entry, engine, options JSON).
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
