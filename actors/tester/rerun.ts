// Variants of a test plan: the same plan for another worktree (the base commit's), and a plan that re-runs
// only some tests (to tell a flaky test from a regression).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerPlan } from './runners.ts';

/**
 * The plan with every occurrence of `fromDir` (absolute report paths, local tool paths) replaced by `toDir`.
 *
 * @example relocatePlan(plan, '/data/work/t-1-test-1-r1', '$WORKDIR') // a worktree-independent cache key
 */
export function relocatePlan<P extends RunnerPlan & { setup?: string[][] }>(
  plan: P,
  fromDir: string,
  toDir: string,
): P {
  const swap = (s: string) => s.split(fromDir).join(toDir);
  return {
    ...plan,
    command: plan.command.map(swap),
    ...(plan.env ? { env: Object.fromEntries(Object.entries(plan.env).map(([k, v]) => [k, swap(v)])) } : {}),
    ...(plan.setup ? { setup: plan.setup.map((argv) => argv.map(swap)) } : {}),
  };
}

/**
 * A plan that runs only `names` (TestCase names from the same plan's earlier run), or undefined when this
 * runner cannot select tests (then the whole plan is re-run). pytest selects node ids, go a `-run` pattern,
 * vitest and jest the tests' files.
 */
export function rerunPlan<P extends RunnerPlan & { labels?: string[] }>(
  plan: P,
  workDir: string,
  names: readonly string[],
): P | undefined {
  if (names.length === 0) return undefined;
  switch (plan.kind) {
    case 'pytest': {
      const ids = names.map((n) => pytestNodeId(n, workDir));
      if (ids.some((id) => id === undefined)) return undefined;
      // The selected files (the plan's trailing labels) give way to the node ids: only those tests re-run.
      const labels = plan.labels ?? [];
      const tail = plan.command.slice(plan.command.length - labels.length);
      const base =
        labels.length > 0 && tail.every((a, i) => a === labels[i])
          ? plan.command.slice(0, plan.command.length - labels.length)
          : plan.command;
      return { ...plan, command: [...base, ...(ids as string[])] };
    }
    case 'go': {
      const byPkg = new Map<string, string[]>();
      for (const n of names) {
        const [pkg, test] = n.split('::');
        if (!pkg || !test || test === '(package)') return undefined;
        byPkg.set(pkg, [...(byPkg.get(pkg) ?? []), escapeRegex(test.split('/')[0]!)]);
      }
      const tests = [...new Set([...byPkg.values()].flat())];
      const base = plan.command.filter((a) => a !== './...');
      return { ...plan, command: [...base, '-run', `^(${tests.join('|')})$`, ...byPkg.keys()] };
    }
    case 'vitest':
    case 'jest': {
      const files = [...new Set(names.map((n) => n.split(' > ')[0] ?? ''))];
      if (files.some((f) => !f || !existsSync(join(workDir, f)))) return undefined;
      return { ...plan, command: [...plan.command, ...files] };
    }
    default:
      return undefined;
  }
}

/**
 * pytest's node id for a JUnit name `dotted.module.Class::test` (as parseJUnitXml writes it): the longest
 * dotted prefix that is a file in workDir is the module, the rest are classes.
 */
export function pytestNodeId(name: string, workDir: string): string | undefined {
  const sep = name.lastIndexOf('::');
  if (sep < 0) return undefined;
  const classname = name.slice(0, sep);
  const test = name.slice(sep + 2);
  const parts = classname.split('.');
  for (let i = parts.length; i > 0; i--) {
    const file = `${parts.slice(0, i).join('/')}.py`;
    if (existsSync(join(workDir, file))) return [file, ...parts.slice(i), test].join('::');
  }
  return undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
