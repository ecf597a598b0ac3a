// SWE-bench rows for `codemesh eval swe`: read a JSON-lines dataset, validate each row, pick instances.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** A list of test names, as SWE-bench stores it: a JSON-encoded string (or, tolerated, the list itself). */
const TestList = z.union([
  z.array(z.string()),
  z.string().transform((s, ctx) => {
    try {
      const v = JSON.parse(s) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JSON-encoded list of test names' });
    return z.NEVER;
  }),
]);

export const SweInstance = z.object({
  instance_id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'instance ids are owner__name-number'),
  repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'repo is owner/name'),
  base_commit: z.string().regex(/^[0-9a-f]{40}$/, 'base_commit is a full commit id'),
  problem_statement: z.string().min(1),
  patch: z.string(),
  test_patch: z.string(),
  FAIL_TO_PASS: TestList,
  PASS_TO_PASS: TestList,
  eval_script: z.string(),
  log_parser: z.string().optional(),
  version: z.string().optional(),
});
export type SweInstance = z.infer<typeof SweInstance>;

/** A dataset problem the user can fix (a bad path, a malformed line): printed as one line, exit 2. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly code = 'DATASET_INVALID';
}

export interface SelectOptions {
  /** Only these instance ids, in this order; an unknown id is an error. */
  instances?: string[];
  limit?: number;
}

/**
 * Reads and validates a JSON-lines dataset. Empty lines are skipped; the first bad line is reported with its
 * number and the field at fault.
 */
export function loadDataset(file: string, opts: SelectOptions = {}): SweInstance[] {
  if (!existsSync(file)) throw new DatasetError(`dataset ${file} does not exist`);
  const rows: SweInstance[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new DatasetError(`${file}:${i + 1}: not a JSON object`);
    }
    const parsed = SweInstance.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DatasetError(`${file}:${i + 1}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
    }
    rows.push(parsed.data);
  });
  let picked = rows;
  if (opts.instances?.length) {
    const byId = new Map(rows.map((r) => [r.instance_id, r]));
    const missing = opts.instances.filter((id) => !byId.has(id));
    if (missing.length) throw new DatasetError(`not in ${file}: ${missing.join(', ')}`);
    picked = opts.instances.map((id) => byId.get(id)!);
  }
  if (opts.limit !== undefined) picked = picked.slice(0, opts.limit);
  return picked;
}

/** `<repos>/<owner>__<name>`, checked to be a git clone (a work tree with `.git`, or a bare git dir). */
export function repoDir(repos: string, repo: string): string {
  const dir = join(repos, repo.replace('/', '__'));
  if (!existsSync(join(dir, '.git')) && !existsSync(join(dir, 'HEAD'))) {
    throw new DatasetError(`no git clone of ${repo} at ${dir} (clone it there: see --repos)`);
  }
  return dir;
}

/** The project an instance belongs to (its repository): decides how its tests are set up here. */
export type Project = 'django' | 'sympy' | 'pytest' | 'requests' | 'flask' | 'other';

const PROJECTS: Record<string, Project> = {
  'django/django': 'django',
  'sympy/sympy': 'sympy',
  'pytest-dev/pytest': 'pytest',
  'psf/requests': 'requests',
  'pallets/flask': 'flask',
};

export function projectOf(inst: Pick<SweInstance, 'repo'>): Project {
  return PROJECTS[inst.repo] ?? 'other';
}

/** Which log parser reads the instance's test output: its `log_parser`, else its project's. */
export type LogParser = 'django' | 'sympy' | 'pytest' | 'pytest_options';

export function parserOf(inst: Pick<SweInstance, 'repo' | 'log_parser'>): LogParser {
  const named = /^parse_log_(\w+)$/.exec(inst.log_parser ?? '')?.[1];
  const key = named ?? projectOf(inst);
  if (key === 'django' || key === 'sympy') return key;
  // SWE-bench reads requests (and pydicom, pylint) with the options-normalizing pytest parser.
  if (key === 'requests' || key === 'pytest_options') return 'pytest_options';
  return 'pytest';
}
