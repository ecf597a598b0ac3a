// What a test run said, test by test (parseRunnerOutput); detection lives in detect.ts and plan.ts, test by test (parseRunnerOutput).
// Plans are made to run inside the sandbox: only workDir is writable, so reports and caches stay there or
// in the sandbox's private /tmp.
import { constants } from 'node:fs';
import { lstat, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseSympyText, parseUnittestText } from './parse-text.ts';
import { REPORT_DIR, type RunnerPlan } from './types.ts';

export { detectRunner } from './detect.ts';
export type { RunnerKind, RunnerPlan, TestPlan } from './types.ts';
export { REPORT_DIR } from './types.ts';

export interface TestOutcome {
  /** Unique within a run: `file > describe > title` (JS), `class::name` (pytest), `package::Test` (go). */
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  durationMs?: number;
  /** Failure text, first 4 KiB. */
  message?: string;
  /** Test file relative to workDir (JS) or Go package. */
  file?: string;
}

export interface ParsedRun {
  tests: TestOutcome[];
  counts: { passed: number; failed: number; skipped: number };
  /** Set when no per-test results could be read (report missing or unreadable): treat the run as broken. */
  error?: string;
}

const MESSAGE_CAP = 4096;

/** Create the report directory (git-ignored) and delete a stale report, so an old file is never read. */
export async function prepareReport(plan: RunnerPlan, workDir: string): Promise<void> {
  if (!plan.reportFile) return;
  // The tree comes from the repository: a committed `.codemesh-report -> /somewhere` must not make the host
  // write or delete there. Whatever stands on the way and is not a plain directory is removed (rm never
  // follows a link), then the directory is made.
  const parts = plan.reportFile.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`report path ${plan.reportFile} leaves the work tree`);
  let dir = workDir;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (st && !st.isDirectory()) await rm(dir, { force: true, recursive: true });
    if (!st?.isDirectory()) await mkdir(dir);
  }
  const ignore = join(workDir, REPORT_DIR, '.gitignore');
  await rm(ignore, { force: true, recursive: true });
  await writeFile(ignore, '*\n', { flag: 'wx' });
  await rm(join(workDir, ...parts), { force: true, recursive: true });
}

/**
 * Per-test results of a finished run. `exitCode` is used by the `npm` and `custom` kinds, which have no report
 * and yield one synthetic test (`npm test` / `test.command`), and to tell a crashed text runner from an empty one.
 */
export async function parseRunnerOutput(
  plan: RunnerPlan,
  workDir: string,
  stdout: string,
  stderr: string,
  exitCode?: number | null,
): Promise<ParsedRun> {
  switch (plan.kind) {
    case 'vitest':
    case 'jest': {
      const text = await readReport(plan, workDir);
      if (typeof text !== 'string') return broken(text.error, stderr);
      try {
        return withCounts(parseJestJson(JSON.parse(text), workDir));
      } catch (err) {
        return broken(`unreadable ${plan.kind} report: ${(err as Error).message}`, stderr);
      }
    }
    case 'pytest': {
      const text = await readReport(plan, workDir);
      if (typeof text !== 'string') return broken(text.error, stderr || stdout);
      return withCounts(parseJUnitXml(text));
    }
    case 'go':
      return withCounts(parseGoTestJson(stdout, stderr));
    case 'django':
    case 'sympy': {
      const report = plan.reportFile ? await readReport(plan, workDir) : undefined;
      const output = typeof report === 'string' ? report : `${stdout}\n${stderr}`;
      const tests = plan.kind === 'django' ? parseUnittestText(output) : parseSympyText(output);
      if (tests.length === 0 && exitCode !== 0)
        return broken(`${plan.kind}: no per-test results in the output (exit ${exitCode})`, output);
      return withCounts(tests);
    }
    case 'npm':
    case 'custom': {
      const label = plan.kind === 'npm' ? 'npm test' : 'test.command';
      if (exitCode === undefined) return broken(`${label}: no exit code given`, '');
      const passed = exitCode === 0;
      const message = passed ? undefined : cap(tail(`${stdout}\n${stderr}`.trim(), MESSAGE_CAP));
      return withCounts([
        { name: label, status: passed ? 'passed' : 'failed', ...(message ? { message } : {}) },
      ]);
    }
    case 'none':
      return withCounts([]);
  }
}

/** Jest's `--json` format, which vitest's json reporter reproduces. */
export function parseJestJson(report: unknown, workDir: string): TestOutcome[] {
  const tests: TestOutcome[] = [];
  for (const suite of asArray(asRecord(report).testResults)) {
    const s = asRecord(suite);
    const file = typeof s.name === 'string' ? relative(workDir, s.name) : '';
    let suiteFailed = false;
    for (const a of asArray(s.assertionResults)) {
      const r = asRecord(a);
      const title = String(r.title ?? r.fullName ?? '');
      const ancestors = asArray(r.ancestorTitles).map(String);
      const status = r.status === 'passed' ? 'passed' : r.status === 'failed' ? 'failed' : 'skipped';
      if (status === 'failed') suiteFailed = true;
      const message = asArray(r.failureMessages).map(String).join('\n');
      tests.push({
        name: [file, ...ancestors, title].filter(Boolean).join(' > '),
        status,
        ...(typeof r.duration === 'number' ? { durationMs: r.duration } : {}),
        ...(message ? { message: cap(message) } : {}),
        ...(file ? { file } : {}),
      });
    }
    // A file that fails to load or whose hooks throw has no failed assertion but must still count.
    if (s.status === 'failed' && !suiteFailed) {
      const message = String(
        s.message || s.failureMessage || asRecord(s.testExecError).message || 'suite failed',
      );
      tests.push({
        name: `${file} > (suite)`,
        status: 'failed',
        message: cap(message),
        ...(file ? { file } : {}),
      });
    }
  }
  return tests;
}

/** JUnit XML as written by pytest (and most other tools); a tolerant scanner, not a full XML parser. */
export function parseJUnitXml(xml: string): TestOutcome[] {
  const tests: TestOutcome[] = [];
  const testcase = /<testcase\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(testcase)) {
    const attrs = parseAttrs(m[1] ?? '');
    const body = m[3] ?? '';
    const name = attrs.classname ? `${attrs.classname}::${attrs.name ?? ''}` : (attrs.name ?? '');
    const time = Number(attrs.time);
    const problem = /<(failure|error)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    const skipped = /<skipped\b/.test(body);
    const outcome: TestOutcome = {
      name,
      status: problem ? 'failed' : skipped ? 'skipped' : 'passed',
      ...(Number.isFinite(time) && attrs.time !== undefined ? { durationMs: time * 1000 } : {}),
    };
    if (problem) {
      const msg = parseAttrs(problem[2] ?? '').message ?? '';
      const text = xmlText(problem[3] ?? '').trim();
      const message = [msg, text].filter(Boolean).join('\n');
      if (message) outcome.message = cap(message);
    }
    tests.push(outcome);
  }
  return tests;
}

/** `go test -json` event stream (one JSON object per line, other lines ignored). */
export function parseGoTestJson(stdout: string, stderr = ''): TestOutcome[] {
  const tests: TestOutcome[] = [];
  const output = new Map<string, string[]>();
  const failedPackages = new Map<string, boolean>(); // package -> has a failed test
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev: Record<string, unknown>;
    try {
      ev = asRecord(JSON.parse(line));
    } catch {
      continue;
    }
    const pkg = String(ev.Package ?? ev.ImportPath ?? '');
    const test = typeof ev.Test === 'string' ? ev.Test : undefined;
    const key = `${pkg}::${test ?? ''}`;
    if ((ev.Action === 'output' || ev.Action === 'build-output') && typeof ev.Output === 'string') {
      const lines = output.get(key) ?? [];
      lines.push(ev.Output);
      output.set(key, lines);
      continue;
    }
    if (ev.Action !== 'pass' && ev.Action !== 'fail' && ev.Action !== 'skip') continue;
    if (test === undefined) {
      if (ev.Action === 'fail' && !failedPackages.has(pkg)) failedPackages.set(pkg, false);
      continue;
    }
    const status = ev.Action === 'pass' ? 'passed' : ev.Action === 'fail' ? 'failed' : 'skipped';
    if (status === 'failed') failedPackages.set(pkg, true);
    const outcome: TestOutcome = { name: key, status, file: pkg };
    if (typeof ev.Elapsed === 'number') outcome.durationMs = ev.Elapsed * 1000;
    if (status === 'failed') outcome.message = cap((output.get(key) ?? []).join('').trim());
    tests.push(outcome);
  }
  // A package that fails without a failing test did not build or crashed outside a test.
  for (const [pkg, hadFailedTest] of failedPackages) {
    if (hadFailedTest) continue;
    const text = (output.get(`${pkg}::`) ?? []).join('').trim() || tail(stderr.trim(), MESSAGE_CAP);
    tests.push({
      name: `${pkg}::(package)`,
      status: 'failed',
      file: pkg,
      message: cap(text || 'package failed'),
    });
  }
  return tests;
}

async function readReport(plan: RunnerPlan, workDir: string): Promise<string | { error: string }> {
  if (!plan.reportFile) return { error: `${plan.kind}: plan has no report file` };
  const REPORT_CAP = 64 * 1024 * 1024;
  const refused = (why: string) => ({ error: `${plan.kind} report ${plan.reportFile} refused: ${why}` });
  // The report is written by the repository's code: never follow a symlink (to a host file) on the way or
  // at the end, read a regular file only (a FIFO would block), and cap the size.
  const parts = plan.reportFile.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return refused('path leaves the work tree');
  let dir = workDir;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (st && !st.isDirectory()) return refused(`${part} is not a plain directory`);
  }
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await open(join(workDir, ...parts), flags).catch((err: NodeJS.ErrnoException) => err);
  if (handle instanceof Error) {
    if (handle.code === 'ELOOP') return refused('it is a symlink');
    return {
      error: `${plan.kind} wrote no report (${plan.reportFile}): the runner crashed or did not start`,
    };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return refused('not a regular file');
    if (st.size > REPORT_CAP) return refused(`larger than ${REPORT_CAP} bytes`);
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function broken(error: string, output: string): ParsedRun {
  const detail = tail(output.trim(), 1024);
  return {
    tests: [],
    counts: { passed: 0, failed: 0, skipped: 0 },
    error: detail ? `${error}\n${detail}` : error,
  };
}

function withCounts(tests: TestOutcome[]): ParsedRun {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const t of tests) counts[t.status]++;
  return { tests, counts };
}

function parseAttrs(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of text.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    attrs[m[1]!] = decodeXml(m[2] ?? m[3] ?? '');
  }
  return attrs;
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return String.fromCodePoint(code);
    }
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e.toLowerCase()] ?? _;
  });
}

/** Text content: entities decoded outside CDATA sections, CDATA kept verbatim. */
function xmlText(body: string): string {
  return body
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) => (part.startsWith('<![CDATA[') ? part.slice(9, -3) : decodeXml(part)))
    .join('');
}

function cap(text: string, max = MESSAGE_CAP): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
