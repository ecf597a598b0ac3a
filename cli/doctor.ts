// `codemesh doctor`: how the Tester would test a repository at a commit (runner, command, env, setup, timeout,
// the tests it would select, and why), without running anything.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planTests } from '../actors/tester/plan.ts';
import {
  addWorktree,
  RepoNotFoundError,
  removeWorktree,
  resolveCommit,
  resolveRepo,
} from '../actors/runtime/git.ts';
import { RepoConfigError } from '../schemas/repo-config.ts';
import type { TestPlan } from '../actors/tester/types.ts';
import { UsageError } from './errors.ts';

export { DOCTOR_USAGE } from './usage-text.js';
import { DOCTOR_USAGE } from './usage-text.js';

export async function cmdDoctor(
  argv: string[],
  out: { write(text: string): unknown } = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      commit: { type: 'string' },
      files: { type: 'string' },
      issue: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.repo) throw new UsageError(`--repo is required\n${DOCTOR_USAGE}`);
  const print = (s: string) => out.write(`${s}\n`);
  let repo: string;
  let commit: string;
  try {
    repo = await resolveRepo(values.repo);
    commit = await resolveCommit(repo, values.commit ?? 'HEAD');
  } catch (err) {
    if (err instanceof RepoNotFoundError) {
      print(`codemesh doctor: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const changedFiles = (values.files ?? '')
    .split(',')
    .map((f) => f.trim().replace(/^\.\//, ''))
    .filter(Boolean);
  // Detection looks at a checkout of the commit (the repository's own work tree may be elsewhere or absent).
  // Under a `work/` folder: codemesh's git only touches work directories it made there.
  const dir = await mkdtemp(join(tmpdir(), 'codemesh-doctor-'));
  const wt = join(dir, 'work', 'doctor');
  await mkdir(join(dir, 'work'));
  try {
    await addWorktree(repo, wt, commit);
    const plan = await planTests({
      workDir: wt,
      repoPath: repo,
      baseCommit: commit,
      changedFiles,
      issueText: values.issue,
    });
    if (values.json) print(JSON.stringify({ repo, commit, workDir: wt, ...plan }, null, 2));
    else print(render(plan, repo, commit, wt));
    return 0;
  } catch (err) {
    if (err instanceof RepoConfigError) {
      print(`codemesh doctor: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await removeWorktree(repo, wt);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Paths under the temporary checkout read as `<checkout>/...`: they differ on every run. */
function render(plan: TestPlan, repo: string, commit: string, wt: string): string {
  const short = (s: string) => s.split(wt).join('<checkout>');
  const env = Object.entries(plan.env).map(([k, v]) => `${k}=${short(v)}`);
  const lines = [
    `repo:     ${repo} @ ${commit.slice(0, 12)}`,
    `runner:   ${plan.kind}`,
    `command:  ${plan.command.length ? plan.command.map(short).join(' ') : '(nothing to run)'}`,
    `env:      ${env.join(' ') || '(none)'}`,
    `setup:    ${plan.setup.length ? '' : '(none)'}`,
    ...plan.setup.map((argv) => `  - ${short(argv.join(' ')).slice(0, 300)}`),
    `timeout:  ${plan.timeoutMs / 1000} s`,
    `scope:    ${plan.scope}`,
    `selected: ${plan.selected.length ? plan.selected.length : plan.scope === 'all' ? '(whole suite)' : '(none)'}`,
    ...plan.selected.map((f) => `  - ${f}`),
    `push:     ${plan.push ? 'yes' : 'no'}`,
    'why:',
    ...plan.why.map((w) => `  - ${short(w)}`),
  ];
  return lines.join('\n');
}
