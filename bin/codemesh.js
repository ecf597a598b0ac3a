#!/usr/bin/env node
// Entry point of the codemesh CLI: registers tsx so the TypeScript sources run without a build step. Help is
// answered before that, from plain JavaScript: loading tsx alone takes a second or more on a busy machine.
import { USAGE, usageOf, wantsHelp } from '../cli/usage-text.js';

const argv = process.argv.slice(2);
const [cmd, ...rest] = argv;
if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
  console.log(USAGE);
  process.exitCode = cmd ? 0 : 2;
} else if (usageOf(argv) !== undefined && wantsHelp(rest)) {
  console.log(usageOf(argv));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
