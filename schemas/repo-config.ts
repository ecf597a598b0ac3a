// Repository test settings: `.codemesh.yml` at the repository root, the same settings stored for a registered
// repository, and a task's own `config`. Later layers win: repo file < registered repo < task.
import { z } from 'zod';
import { GitHubRepoSettings } from './github.ts';

export const TestRunnerName = z.enum(['pytest', 'django', 'sympy', 'vitest', 'jest', 'npm', 'go', 'none']);
export type TestRunnerName = z.infer<typeof TestRunnerName>;

/** A shell line (run with `sh -c`) or an argv list. */
export const ConfigCommand = z.union([
  z.string().trim().min(1, 'an empty command'),
  z.array(z.string()).min(1, 'an empty argv list'),
]);
export type ConfigCommand = z.infer<typeof ConfigCommand>;

// YAML reads `PYTHONHASHSEED: 0` as a number: env values are strings once parsed.
const EnvValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'an env value is a string' })
  .transform(String);

export const TestSettings = z
  .object({
    /** Replaces the detected runner's command. With `runner` set, the report option and tests are appended. */
    command: ConfigCommand.optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an env name'), EnvValue).optional(),
    /** Commands run once per base commit inside the sandbox before the tests (e.g. write a version file). */
    setup: z.array(ConfigCommand).max(20).optional(),
    /** Seconds. */
    timeout: z
      .number({ error: 'a whole number of seconds' })
      .int('a whole number of seconds')
      .min(1)
      .max(86_400)
      .optional(),
    /** `selected` (default): the tests the issue and the change point to, plus a bounded regression set. */
    scope: z.enum(['selected', 'all']).optional(),
    /** Interpreter for Python runners, e.g. `/usr/bin/python3` or `.venv/bin/python`. */
    python: z.string().min(1).max(4096).optional(),
    runner: TestRunnerName.optional(),
    /** Cap on the regression test files added to the selected ones (default 20). */
    max_files: z.number().int().min(1).max(1000).optional(),
    /** Line coverage of the changed files (default true): coverage.py for the Python runners (when the
     * sandbox's interpreter has it), V8 for `npm test`, the repository's @vitest/coverage-v8 for vitest,
     * jest's v8 provider, `go test -coverprofile` for Go. */
    coverage: z.boolean({ error: 'true or false' }).optional(),
    /** A test-writing step before the fix writes a test that reproduces the issue, when no selected test fails
     * on the base commit (default true where the gateway or `codemesh run` starts the task; false: skipped). */
    reproduce: z.boolean({ error: 'true or false' }).optional(),
  })
  .strict();
export type TestSettings = z.infer<typeof TestSettings>;

export const RepoConfig = z
  .object({
    test: TestSettings.optional(),
    /** Push `codemesh/<task>` to the repository's remote after integrating (default false: never). */
    push: z.boolean({ error: 'true or false' }).optional(),
    /** Pull request settings when the repository is on GitHub (schemas/github.ts). */
    github: GitHubRepoSettings.optional(),
    /** The Doc Writer documents each reviewed patch (default false; a task's own `docs` wins). */
    docs: z.boolean({ error: 'true or false' }).optional(),
  })
  .strict();
export type RepoConfig = z.infer<typeof RepoConfig>;
export type RepoConfigInput = z.input<typeof RepoConfig>;

/** A bad key or value, named with the place it came from (`.codemesh.yml: test.timout is not a setting ...`). */
export class RepoConfigError extends Error {
  override readonly name = 'RepoConfigError';
  readonly code = 'REPO_CONFIG_INVALID' as const;
}

const KNOWN: Record<string, readonly string[]> = {
  '': Object.keys(RepoConfig.shape),
  test: Object.keys(TestSettings.shape),
  github: Object.keys(GitHubRepoSettings.shape),
};

/**
 * Validates one layer of settings; throws a RepoConfigError whose message names the source and the key.
 *
 * @example
 * parseRepoConfig(YAML.parse(text), '.codemesh.yml') // -> { test: { timeout: 600 } }
 */
export function parseRepoConfig(value: unknown, source: string): RepoConfig {
  const r = RepoConfig.safeParse(value ?? {});
  if (r.success) return r.data;
  throw new RepoConfigError(formatConfigIssues(r.error, source));
}

/** One line per problem: `<source>: <key> ...`. */
export function formatConfigIssues(error: z.ZodError, source: string): string {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = path ? `${path}.${key}` : key;
        const near = closest(key, KNOWN[path] ?? []);
        const hint = near ? ` (did you mean ${path ? `${path}.` : ''}${near}?)` : '';
        const known = KNOWN[path]
          ? `; settings: ${KNOWN[path].map((k) => (path ? `${path}.${k}` : k)).join(', ')}`
          : '';
        lines.push(`${source}: ${full} is not a setting${hint || known}`);
      }
      continue;
    }
    const where = path || '(top level)';
    if (issue.code === 'invalid_value' && 'values' in issue) {
      lines.push(`${source}: ${where} must be one of ${issue.values.map(String).join(', ')}`);
    } else if (issue.code === 'invalid_key') {
      lines.push(`${source}: ${where} is not an environment variable name`);
    } else if (issue.code === 'invalid_type' && path === '' && issue.expected === 'object') {
      lines.push(`${source}: expected a mapping of settings (test:, push:, github:, docs:)`);
    } else {
      lines.push(`${source}: ${where}: ${issue.message}`);
    }
  }
  return lines.join('\n');
}

/** Layers merged in order, later ones winning per key; `test.env` maps are merged key by key. */
export function mergeRepoConfigs(...layers: (RepoConfig | undefined)[]): RepoConfig {
  const out: RepoConfig = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.push !== undefined) out.push = layer.push;
    if (layer.docs !== undefined) out.docs = layer.docs;
    if (layer.github) out.github = { ...out.github, ...layer.github };
    if (layer.test) {
      const env = layer.test.env ? { ...out.test?.env, ...layer.test.env } : out.test?.env;
      out.test = { ...out.test, ...layer.test, ...(env ? { env } : {}) };
    }
  }
  return out;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
