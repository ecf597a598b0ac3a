// Host-side fixtures and bookkeeping for the sandbox attack suite: secrets the job must not reach (a root-only
// canary, a state directory, a repository's git link), process lookups, and the tally of attacks that held.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Attempt {
  category: string;
  attack: string;
  held: boolean;
}

/** Results of every attack run in this process, in order. */
export const attempts: Attempt[] = [];

/** Record whether an attack held (the sandbox stopped it) and return that, for the test's one assertion. */
export function record(category: string, attack: string, held: boolean): boolean {
  attempts.push({ category, attack, held });
  return held;
}

/** `category: held/attempts` lines, then every attack that got through. */
export function summary(): string {
  const byCategory = new Map<string, { total: number; held: number }>();
  for (const a of attempts) {
    const c = byCategory.get(a.category) ?? { total: 0, held: 0 };
    c.total++;
    if (a.held) c.held++;
    byCategory.set(a.category, c);
  }
  const lines = [...byCategory].map(([cat, c]) => `${cat}: ${c.held}/${c.total} held`);
  const broke = attempts.filter((a) => !a.held).map((a) => `  NOT HELD: ${a.category} / ${a.attack}`);
  const total = attempts.filter((a) => a.held).length;
  return [`sandbox attacks: ${total}/${attempts.length} held`, ...lines, ...broke].join('\n');
}

export interface HostFixtures {
  /** Parent of everything below; removed by `cleanup`. */
  root: string;
  /** A root-only directory (0700) holding `canary` (0600) and `canary.xml`, a JUnit report naming SECRET. */
  secretDir: string;
  canary: string;
  canaryJunit: string;
  /** A stand-in for codemesh's state dir: a NATS store and PGlite files, and the Tester's work trees. */
  stateDir: string;
  /** A host directory outside the work tree that the job must not write to. */
  hostDir: string;
  secret: string;
  cleanup(): Promise<void>;
}

/** Create the fixtures under /var/tmp (not /tmp: a path the old sandbox showed as is). */
export async function createHostFixtures(): Promise<HostFixtures> {
  const root = await mkdtemp('/var/tmp/codemesh-security-');
  await chmod(root, 0o755);
  const secret = `codemesh-canary-${process.pid}-${Date.now()}`;
  const secretDir = join(root, 'secret');
  await mkdir(secretDir, { mode: 0o700 });
  const canary = join(secretDir, 'canary');
  await writeFile(canary, `${secret}\n`, { mode: 0o600 });
  const canaryJunit = join(secretDir, 'canary.xml');
  await writeFile(
    canaryJunit,
    `<testsuite><testcase classname="${secret}" name="leaked" time="0"/></testsuite>\n`,
    { mode: 0o600 },
  );
  const stateDir = join(root, 'state');
  await mkdir(join(stateDir, 'nats', 'jetstream'), { recursive: true });
  await mkdir(join(stateDir, 'pg'), { recursive: true });
  await mkdir(join(stateDir, 'work'), { recursive: true });
  await writeFile(join(stateDir, 'nats', 'jetstream', 'store.dat'), `kv ${secret}\n`);
  await writeFile(join(stateDir, 'pg', 'PG_VERSION'), `17 ${secret}\n`);
  const hostDir = join(root, 'host');
  await mkdir(hostDir);
  return {
    root,
    secretDir,
    canary,
    canaryJunit,
    stateDir,
    hostDir,
    secret,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

let trees = 0;

/**
 * A fresh work tree where the Tester makes one: inside the state dir, with a worktree's `.git` link file
 * pointing at the repository's git dir (here a directory the job must not see either).
 */
export async function workTree(fx: HostFixtures, files: Record<string, string> = {}): Promise<string> {
  const dir = join(fx.stateDir, 'work', `step-${++trees}-r0`);
  await mkdir(dir, { recursive: true });
  const gitDir = join(fx.stateDir, 'repo.git', 'worktrees', `step-${trees}`);
  await mkdir(gitDir, { recursive: true });
  await writeFile(join(dir, '.git'), `gitdir: ${gitDir}\n`);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** Host processes whose command line contains `token`. */
export async function pidsWith(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(token)) pids.push(Number(pid));
  }
  return pids;
}

/** SIGKILL leftovers after a failed attack, so a broken sandbox does not leave processes behind. */
export async function killProcessesWith(token: string): Promise<void> {
  for (const pid of await pidsWith(token)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
