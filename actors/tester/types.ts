// Contracts of the Tester's planning: what a runner plan is (plain data the sandbox runs) and what a run said.

export type RunnerKind =
  | 'vitest'
  | 'jest'
  | 'npm'
  | 'pytest'
  | 'django'
  | 'sympy'
  | 'go'
  /** `test.command` from config without a known runner: the exit code is the one result. */
  | 'custom'
  | 'none';

export interface RunnerPlan {
  kind: RunnerKind;
  /** argv to run with cwd = workDir; empty when there is nothing to run (kind `none`, or nothing selected). */
  command: string[];
  /** Path relative to workDir where the runner writes its machine-readable report. */
  reportFile?: string;
  /** Environment the command needs (merge into the sandbox job's env). */
  env?: Record<string, string>;
  /** The Python interpreter as it stands in `command` (Python runners): coverage wraps it. */
  python?: string;
}

/** One stage of a selection: its files, their runner labels and the command that runs them. */
export interface TestStage {
  selected: string[];
  labels: string[];
  command: string[];
}

/** What `planTests` returns: everything the sandbox needs to run the selected tests, and why. */
export interface TestPlan extends RunnerPlan {
  env: Record<string, string>;
  /** argv lists to run in the sandbox (cwd = workDir) once per base commit, before the tests, in order. */
  setup: string[][];
  timeoutMs: number;
  scope: 'selected' | 'all';
  /** Test files chosen (repository-relative); empty with scope `all`. */
  selected: string[];
  /** The runner arguments appended to the base command for them (node ids, labels, packages). */
  labels: string[];
  /**
   * The selection in two stages, when related regression files were added to the tests the issue names and
   * the patch touches: `primary` (those alone) runs first and gives the first verdict; `rest` (the related
   * files) runs only when the primary tests pass. Together they run exactly `selected`.
   */
  primary?: TestStage;
  rest?: TestStage;
  /** Human-readable reasons: the runner, the environment, each selected file. */
  why: string[];
  /** Host paths the command needs visible read-only in the sandbox (besides the work tree). */
  readOnlyPaths: string[];
  /** Whether the integrator pushes `codemesh/<task>` (config `push`, default false). */
  push: boolean;
  /** Where the settings came from (`.codemesh.yml`, registered repository settings, task config). */
  configSources: string[];
  /** Files whose line coverage the command measures (set by `withCoverage`). */
  coverage?: string[];
  /**
   * How they are measured, which says where the report is and how it reads: coverage.py's JSON (Python
   * runners), V8 block coverage kept by codemesh's launcher (`npm test`), istanbul's coverage-final.json
   * (vitest's @vitest/coverage-v8, jest's v8 provider) or a `go test -coverprofile` profile.
   */
  coverageFormat?: CoverageFormat;
  /** Why the files are not measured although coverage is on (e.g. vitest without @vitest/coverage-v8). */
  coverageNote?: string;
}

export type CoverageFormat = 'coverage.py' | 'v8' | 'istanbul' | 'go';

/** Directory (inside workDir) for runner reports; holds a `.gitignore` so it never shows up in diffs. */
export const REPORT_DIR = '.codemesh-report';
