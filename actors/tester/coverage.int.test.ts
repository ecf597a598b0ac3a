// Coverage of the change beyond Python, through the whole test step in the real sandbox: a plain-JS and a
// TypeScript (tsx) repository tested with `npm test` (node's test runner) measured with V8, and a Go module
// measured with go test's cover profile. Each test writes its tiny repository, a fix plus an untested new
// function.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import type { MeshConnection } from '../../blackboard/index.ts';
import { createSandbox } from '../../sandbox-agent/index.ts';
import { keys, Patch, patchId, TaskRecord, type TaskEventInput, TestRun } from '../../schemas/index.ts';
import { CODEMESH_ROOT } from '../../test/fixture-repo.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { gitIn, makeRepo } from '../../test/temp-repo.ts';
import type { AgentDeps, StepInput, StepOutput } from '../runtime/types.ts';
import { testerMachine } from './machine.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('coverage-test');
});
afterAll(async () => nats?.stop());

const sandbox = createSandbox();
let n = 0;

/** A task whose one patch rewrites `file` to `fixed` in a fresh repository made of `files`. */
async function taskWithPatch(
  files: Record<string, string>,
  file: string,
  fixed: string,
  config?: unknown,
): Promise<{ task: TaskRecord; repo: string }> {
  const { dir: repo, commit } = makeRepo(files);
  writeFileSync(join(repo, file), fixed);
  const diff = `${gitIn(repo, 'diff')}\n`;
  gitIn(repo, 'checkout', '--', file);
  const now = new Date().toISOString();
  const task = TaskRecord.parse({
    id: `t-coverage${++n}${Date.now().toString(36)}`,
    request: { repo, title: 'Fix subtract', ...(config ? { config } : {}) },
    repoPath: repo,
    baseCommit: commit,
    status: 'testing',
    attempt: 1,
    workflow: { value: 'testing', context: {} },
    createdAt: now,
    updatedAt: now,
  });
  const p: Patch = {
    id: patchId(task.id, 1),
    taskId: task.id,
    attempt: 1,
    baseCommit: commit,
    diff,
    files: [file],
    summary: 'fix',
    stats: { additions: 1, deletions: 1 },
    createdAt: now,
  };
  await mesh.board.putOnce(keys.patch(p.id), Patch, p);
  return { task, repo };
}

async function runTestStep(task: TaskRecord, binDirs: string[] = []): Promise<StepOutput> {
  const events: TaskEventInput[] = [];
  const deps: AgentDeps = {
    dataDir: mkdtempSync(join(tmpdir(), 'cm-cov-')),
    models: () => {
      throw new Error('the tester uses no model');
    },
    emit: async (e) => {
      events.push({ ...e, at: new Date().toISOString() });
    },
    now: Date.now,
    sandbox,
    binDirs,
    testTimeoutMs: 240_000,
  };
  const input: StepInput = {
    mesh,
    task,
    kind: 'test',
    attempt: 1,
    round: 1,
    stepId: `${task.id}-test-1`,
    instanceId: 'tester-1',
    deps,
  };
  return toPromise(createActor(testerMachine, { input }).start()) as Promise<StepOutput>;
}

const testRun = async (task: TaskRecord) => (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;

const jsCalc = (subtract: string, extra = '') =>
  `exports.add = function add(a, b) {\n  return a + b;\n};\n\nexports.subtract = function subtract(a, b) {\n${subtract}\n};\n${extra}`;
// The fix's companion: a new function the tests never call, its body the uncovered part of the change.
const jsSign = '\nexports.sign = function sign(x) {\n  if (x < 0) {\n    return -1;\n  }\n  return 1;\n};\n';

describe('JS: npm test with node --test, V8 coverage (real sandbox)', () => {
  const calc = jsCalc;
  const files = {
    'package.json': '{ "name": "js-calc", "private": true, "scripts": { "test": "node --test" } }\n',
    'calc.js': calc('  return a + b;'),
    'calc.test.js': [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const { add, subtract } = require('./calc.js');",
      "test('add', () => assert.equal(add(2, 3), 5));",
      "test('subtract', () => assert.equal(subtract(5, 3), 2));",
      '',
    ].join('\n'),
  };
  const sign = jsSign;

  it('measures the added lines run and the changed file against the base', async () => {
    const { task } = await taskWithPatch(files, 'calc.js', calc('  return a - b;', sign));
    const out = await runTestStep(task);
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass' } });
    const run = await testRun(task);
    expect(run.runner).toBe('npm');
    expect(run.command.some((a) => a.endsWith('cover.mjs'))).toBe(true);
    // Lines with code: 1, 2, 5, 6 (the fix), 9 (`exports.sign = …`, run at load), 10, 11, 13 (sign's body,
    // never run). Added: 6, 9, 10, 11, 13, of which 6 and 9 ran.
    expect(run.coverage).toEqual({
      tool: 'v8',
      measured: true,
      files: [
        {
          path: 'calc.js',
          changedLines: 5,
          changedCovered: 2,
          covered: 5,
          statements: 8,
          pct: 62.5,
          basePct: 100,
        },
      ],
      changedLines: 5,
      changedCovered: 2,
      changedPct: 40,
      pct: 62.5,
      basePct: 100,
      deltaPct: -37.5,
    });
    expect(out.ok && out.data?.coverage).toEqual({ changedPct: 40, pct: 62.5, deltaPct: -37.5 });
  }, 240_000);

  it('measures TypeScript loaded by tsx through the source map Node keeps', async () => {
    const calcTs = (subtract: string, extra = '') =>
      `export interface Pair {\n  a: number;\n  b: number;\n}\n\nexport function add(p: Pair): number {\n  return p.a + p.b;\n}\n\nexport function subtract(p: Pair): number {\n${subtract}\n}\n${extra}`;
    const tsFiles = {
      '.gitignore': 'node_modules\n',
      'package.json':
        '{ "name": "ts-calc", "private": true, "type": "module", "scripts": { "test": "node --import tsx --test calc.test.ts" } }\n',
      'calc.ts': calcTs('  return p.a + p.b;'),
      'calc.test.ts': [
        "import { test } from 'node:test';",
        "import assert from 'node:assert';",
        "import { add, subtract } from './calc.ts';",
        "test('add', () => assert.equal(add({ a: 2, b: 3 }), 5));",
        "test('subtract', () => assert.equal(subtract({ a: 5, b: 3 }), 2));",
        '',
      ].join('\n'),
    };
    const tsSign =
      '\nexport function sign(x: number): number {\n  if (x < 0) {\n    return -1;\n  }\n  return 1;\n}\n';
    const { task, repo } = await taskWithPatch(tsFiles, 'calc.ts', calcTs('  return p.a - p.b;', tsSign));
    // tsx as the repository's own installed dependency (codemesh's node_modules stands in for it).
    symlinkSync(join(CODEMESH_ROOT, 'node_modules'), join(repo, 'node_modules'));
    const out = await runTestStep(task);
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass' } });
    // Lines the map reaches: 6, 7, 10, 11 (the fix) run; 14, 15, 16, 18 (sign) not; the interface's lines
    // become no code at all. Added: 11, 14, 15, 16, 18, of which 11 ran.
    expect((await testRun(task)).coverage).toEqual({
      tool: 'v8',
      measured: true,
      files: [
        {
          path: 'calc.ts',
          changedLines: 5,
          changedCovered: 1,
          covered: 4,
          statements: 8,
          pct: 50,
          basePct: 100,
        },
      ],
      changedLines: 5,
      changedCovered: 1,
      changedPct: 20,
      pct: 50,
      basePct: 100,
      deltaPct: -50,
    });
  }, 240_000);

  it('says why a TypeScript file run through a transform without a source map is not measured', async () => {
    // A CommonJS hook that transforms the file (it prepends a line) and leaves no source map: V8's offsets
    // are not the file's, and nothing maps them back.
    const tsFiles = {
      'package.json':
        '{ "name": "ts-calc", "private": true, "scripts": { "test": "node --require ./hook.cjs --test" } }\n',
      'hook.cjs': [
        "const fs = require('node:fs');",
        "require.extensions['.ts'] = (m, f) => m._compile('\"use strict\";\\n' + fs.readFileSync(f, 'utf8'), f);",
        '',
      ].join('\n'),
      'calc.ts': 'exports.add = (a, b) => a + b;\n',
      'calc.test.js':
        "const test = require('node:test');\ntest('add', () => require('./calc.ts').add(1, 2));\n",
    };
    const { task } = await taskWithPatch(tsFiles, 'calc.ts', 'exports.add = (a, b) =>\n  b + a;\n');
    const out = await runTestStep(task);
    expect(out).toMatchObject({ ok: true });
    const run = await testRun(task);
    expect(run.coverage).toMatchObject({ tool: 'v8', measured: false });
    expect(run.coverage?.reason).toMatch(/calc\.ts: V8 ran a transformed version of it/);
  }, 240_000);
});

// @vitest/coverage-v8 is not one of codemesh's dependencies: this runs only when pointed at a node_modules that
// has it (`npm i -E vitest@4.1.12 @vitest/coverage-v8@4.1.12` somewhere, then CODEMESH_VITEST_COVERAGE=<that
// node_modules>), standing in for a repository that installed it.
const vitestCoverage = process.env.CODEMESH_VITEST_COVERAGE;

describe.skipIf(!vitestCoverage)('vitest with the repository’s @vitest/coverage-v8 (real sandbox)', () => {
  it('measures the TypeScript lines through vitest’s own coverage', async () => {
    const calcTs = (subtract: string, extra = '') =>
      `export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function subtract(a: number, b: number): number {\n${subtract}\n}\n${extra}`;
    const files = {
      '.gitignore': 'node_modules\n',
      'package.json':
        '{ "name": "vcalc", "private": true, "type": "module", "scripts": { "test": "vitest run" } }\n',
      'calc.ts': calcTs('  return a + b;'),
      'calc.test.ts': [
        "import { expect, test } from 'vitest';",
        "import { add, subtract } from './calc.ts';",
        "test('add', () => expect(add(2, 3)).toBe(5));",
        "test('subtract', () => expect(subtract(5, 3)).toBe(2));",
        '',
      ].join('\n'),
    };
    const sign =
      '\nexport function sign(x: number): number {\n  if (x < 0) {\n    return -1;\n  }\n  return 1;\n}\n';
    const { task, repo } = await taskWithPatch(files, 'calc.ts', calcTs('  return a - b;', sign));
    symlinkSync(vitestCoverage!, join(repo, 'node_modules'));
    // codemesh's own vitest runs it, as in production (binDirs); the provider is the repository's.
    const out = await runTestStep(task, [join(CODEMESH_ROOT, 'node_modules', '.bin')]);
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass' } });
    const run = await testRun(task);
    expect(run.command).toContain('--coverage.provider=v8');
    // vitest's statements: 2, 6 (the fix) run; 10, 11, 13 (sign's body) not. Added: 6, 10, 11, 13.
    expect(run.coverage).toMatchObject({
      tool: '@vitest/coverage-v8',
      measured: true,
      changedLines: 4,
      changedCovered: 1,
      changedPct: 25,
      pct: 40,
      basePct: 100,
      deltaPct: -60,
    });
  }, 240_000);
});

// jest is not one of codemesh's dependencies either: CODEMESH_JEST=<a node_modules with jest> runs this.
const jestModules = process.env.CODEMESH_JEST;

describe.skipIf(!jestModules)('jest with its own v8 coverage (real sandbox)', () => {
  it('measures the added lines run and the changed file against the base', async () => {
    const { task, repo } = await taskWithPatch(
      {
        '.gitignore': 'node_modules\n',
        'package.json': '{ "name": "jcalc", "private": true, "scripts": { "test": "jest" } }\n',
        'calc.js': jsCalc('  return a + b;'),
        'calc.test.js': [
          "const { add, subtract } = require('./calc.js');",
          "test('add', () => expect(add(2, 3)).toBe(5));",
          "test('subtract', () => expect(subtract(5, 3)).toBe(2));",
          '',
        ].join('\n'),
      },
      'calc.js',
      jsCalc('  return a - b;', jsSign),
    );
    symlinkSync(jestModules!, join(repo, 'node_modules'));
    const out = await runTestStep(task, [join(jestModules!, '.bin')]);
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass' } });
    const run = await testRun(task);
    expect(run.command).toContain('--coverageProvider=v8');
    // The same lines as V8 through the launcher gives (jest's blank and `};` lines are no code).
    expect(run.coverage).toMatchObject({
      tool: 'jest',
      measured: true,
      changedLines: 5,
      changedCovered: 2,
      changedPct: 40,
      pct: 62.5,
      basePct: 100,
      deltaPct: -37.5,
    });
  }, 240_000);
});

const hasGo = spawnSync('go', ['version']).status === 0;

describe.skipIf(!hasGo)('Go: go test -coverprofile (real sandbox)', () => {
  const calc = (subtract: string, extra = '') =>
    `package calc\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc Subtract(a, b int) int {\n${subtract}\n}\n${extra}`;
  const files = {
    'go.mod': 'module example.com/gocalc\n\ngo 1.19\n',
    'calc/calc.go': calc('\treturn a + b'),
    'calc/calc_test.go': [
      'package calc',
      '',
      'import "testing"',
      '',
      'func TestAdd(t *testing.T) {',
      '\tif Add(2, 3) != 5 {',
      '\t\tt.Fatal("add")',
      '\t}',
      '}',
      '',
      'func TestSubtract(t *testing.T) {',
      '\tif Subtract(5, 3) != 2 {',
      '\t\tt.Fatal("subtract")',
      '\t}',
      '}',
      '',
    ].join('\n'),
  };
  const sign = '\nfunc Sign(x int) int {\n\tif x < 0 {\n\t\treturn -1\n\t}\n\treturn 1\n}\n';

  it('measures the added lines run and the changed file against the base', async () => {
    const { task } = await taskWithPatch(files, 'calc/calc.go', calc('\treturn a - b', sign));
    const out = await runTestStep(task);
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', verdict: { fixed: 1 } } });
    const run = await testRun(task);
    expect(run.runner).toBe('go');
    expect(run.command).toContain('-coverpkg=./calc');
    // Lines blocks span (closing brackets left out): 3, 4, 7, 8 (the fix) run; 11, 12, 13, 15 (Sign) not.
    // Added: 8, 11, 12, 13, 15, of which 8 ran.
    expect(run.coverage).toEqual({
      tool: 'go cover',
      measured: true,
      files: [
        {
          path: 'calc/calc.go',
          changedLines: 5,
          changedCovered: 1,
          covered: 4,
          statements: 8,
          pct: 50,
          basePct: 100,
        },
      ],
      changedLines: 5,
      changedCovered: 1,
      changedPct: 20,
      pct: 50,
      basePct: 100,
      deltaPct: -50,
    });
  }, 240_000);
});
