// Test logs → per-test status, with the semantics of SWE-bench's log parsers (swebench/harness/log_parsers/
// python.py): the names they produce are the names FAIL_TO_PASS and PASS_TO_PASS use.
import type { LogParser } from './dataset.ts';

export type TestStatus = 'PASSED' | 'FAILED' | 'SKIPPED' | 'ERROR' | 'XFAIL';
const STATUSES: readonly TestStatus[] = ['FAILED', 'PASSED', 'SKIPPED', 'ERROR', 'XFAIL'];
const STATUS_ALT = STATUSES.join('|');
const STATUS_FIRST = new RegExp(`^(${STATUS_ALT})\\s+(\\S+)`);
const TEST_FIRST = new RegExp(`^(\\S+)\\s+(${STATUS_ALT})(?:\\s|$)`);

export type StatusMap = Map<string, TestStatus>;

function pytestLine(line: string): [string, TestStatus] | undefined {
  const sf = STATUS_FIRST.exec(line);
  if (sf) {
    const status = sf[1] as TestStatus;
    let name = sf[2]!;
    if (status === 'FAILED') name = line.replaceAll(' - ', ' ').split(/\s+/)[1]!;
    // "SKIPPED [2] file.py:12: reason" is a summary, not a test.
    if (status === 'SKIPPED' && /^\[\d+\]/.test(name)) return undefined;
    return [name, status];
  }
  const tf = TEST_FIRST.exec(line);
  return tf ? [tf[1]!, tf[2] as TestStatus] : undefined;
}

/** `pytest -rA` output (pytest, flask). */
export function parsePytest(log: string): StatusMap {
  const out: StatusMap = new Map();
  for (const line of log.split('\n')) {
    const p = pytestLine(line);
    if (p) out.set(p[0], p[1]);
  }
  return out;
}

/** Like `parsePytest`, but a parameter that is an absolute path keeps only its last segment (requests). */
export function parsePytestOptions(log: string): StatusMap {
  const out: StatusMap = new Map();
  for (const line of log.split('\n')) {
    const p = pytestLine(line);
    if (!p) continue;
    let name = p[0];
    const m = /^(.*?)\[(.*)\]$/s.exec(name);
    if (m) {
      let option = m[2]!;
      if (option.startsWith('/') && !option.startsWith('//') && !option.includes('*')) {
        option = `/${option.split('/').pop()}`;
      }
      name = `${m[1]}[${option}]`;
    }
    out.set(name, p[1]);
  }
  return out;
}

/**
 * Python 3.11's unittest prints `test_x (mod.Class.test_x)`; SWE-bench's names for old releases (run on
 * Python ≤ 3.10) read `test_x (mod.Class)`, for recent ones (run on 3.11) the long form. The parser records both.
 */
export function normalizeDjangoName(name: string): string {
  const m = /^(\S+) \((\S+)\)$/.exec(name);
  if (!m) return name;
  const [, test, where] = m as unknown as [string, string, string];
  return where.endsWith(`.${test}`) ? `${test} (${where.slice(0, -test.length - 1)})` : name;
}

/** Django's tests/runtests.py at verbosity 2 (unittest lines `name ... ok`). */
export function parseDjango(log: string): StatusMap {
  const out: StatusMap = new Map();
  const set = (name: string, s: TestStatus) => {
    out.set(name, s);
    out.set(normalizeDjangoName(name), s);
  };
  let prev: string | undefined;
  // A test with a docstring is printed as its name alone, then the docstring's first line with the status:
  // `test_x (mod.Class.test_x)` / `Docstring. ... ok`. The status belongs to the name.
  let named: string | undefined;
  for (const raw of log.split('\n')) {
    let line = raw.trim();
    const alone = /^test\w* \([\w.]+\)$/.test(line) ? line : undefined;
    if (named && !alone && line.includes(' ... ')) {
      const status = /\s\.\.\.\s+(ok|OK|skipped|FAIL|ERROR)\b/.exec(line)?.[1];
      const map: Record<string, TestStatus> = {
        ok: 'PASSED',
        OK: 'PASSED',
        skipped: 'SKIPPED',
        FAIL: 'FAILED',
        ERROR: 'ERROR',
      };
      if (status) set(named, map[status]!);
      named = undefined;
    } else named = alone;
    if (line.includes('--version is equivalent to version'))
      set('--version is equivalent to version', 'PASSED');
    if (line.includes(' ... ')) prev = line.split(' ... ')[0];
    for (const suffix of [' ... ok', ' ... OK', ' ...  OK']) {
      if (line.endsWith(suffix)) {
        if (line.startsWith('Applying sites.0002_alter_domain_unique...test_no_migrations')) {
          line = line.split('...').slice(1).join('...').trim();
        }
        set(line.slice(0, line.lastIndexOf(suffix)), 'PASSED');
        break;
      }
    }
    if (line.includes(' ... skipped')) set(line.split(' ... skipped')[0]!, 'SKIPPED');
    if (line.endsWith(' ... FAIL')) set(line.split(' ... FAIL')[0]!, 'FAILED');
    if (line.startsWith('FAIL:')) set(line.split(/\s+/)[1]!.trim(), 'FAILED');
    if (line.endsWith(' ... ERROR')) set(line.split(' ... ERROR')[0]!, 'ERROR');
    if (line.startsWith('ERROR:')) set(line.split(/\s+/)[1]!.trim(), 'ERROR');
    if (line.startsWith('ok') && prev !== undefined) set(prev, 'PASSED');
  }
  // A long multi-line print can split "name ... ok" across lines (SWE-bench's three known forms).
  const patterns = [
    /^(.*?)\s\.\.\.\sTesting against Django installed in ([\s\S]*?) silenced\)\.\nok$/gm,
    /^(.*?)\s\.\.\.\sInternal Server Error: \/(.*)\/\nok$/gm,
    /^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$/gm,
  ];
  for (const re of patterns) for (const m of log.matchAll(re)) set(m[1]!, 'PASSED');
  return out;
}

/** sympy's bin/test (`test_name ok`, `test_name F`, `test_name E`, and `____ file.py:test ____` headers). */
export function parseSympy(log: string): StatusMap {
  const out: StatusMap = new Map();
  for (const m of log.matchAll(/(_*) (.*)\.py:(.*) (_*)/g)) out.set(`${m[2]}.py:${m[3]}`, 'FAILED');
  for (const raw of log.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('test_')) continue;
    const name = line.split(/\s+/)[0]!;
    if (line.endsWith(' E')) out.set(name, 'ERROR');
    if (line.endsWith(' F')) out.set(name, 'FAILED');
    if (line.endsWith(' ok')) out.set(name, 'PASSED');
  }
  return out;
}

export function parseLog(parser: LogParser, log: string): StatusMap {
  switch (parser) {
    case 'django':
      return parseDjango(log);
    case 'sympy':
      return parseSympy(log);
    case 'pytest_options':
      return parsePytestOptions(log);
    default:
      return parsePytest(log);
  }
}

/** SWE-bench's rule: a test passes when it is reported PASSED or XFAIL; missing counts as failing. */
export function passed(map: StatusMap, name: string): boolean {
  const s = map.get(name);
  return s === 'PASSED' || s === 'XFAIL';
}
