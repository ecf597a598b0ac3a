// Per-test results from runners that only print text: Django's runtests.py / unittest at verbosity 2, and
// SymPy's bin/test --verbose.
import type { TestOutcome } from './runners.ts';

const MESSAGE_CAP = 4096;

// `test_x (mod.Class.test_x) ... ok` (Python 3.11+) or `test_x (mod.Class) ... ok` (older).
const UNITTEST_HEAD = /^(\w+) \(([\w.]+)\)/;

/**
 * unittest's verbose lines. Names read `mod.Class::test_x`; `file` is the module (`mod`). A docstring's first
 * line may sit between the name and ` ... status`; failure text comes from the `FAIL:` / `ERROR:` sections.
 */
export function parseUnittestText(output: string): TestOutcome[] {
  const lines = output.split('\n');
  const tests = new Map<string, TestOutcome>();
  let pending: { method: string; owner: string } | undefined;
  for (const line of lines) {
    const head = UNITTEST_HEAD.exec(line);
    const statusAt = line.lastIndexOf(' ... ');
    if (head) pending = { method: head[1]!, owner: head[2]! };
    if (statusAt === -1 || !pending) continue;
    const status = unittestStatus(line.slice(statusAt + 5).trim());
    if (!status) continue;
    const name = testName(pending.method, pending.owner);
    tests.set(name.name, { name: name.name, status, file: name.module });
    pending = undefined;
  }
  // Failure sections: `FAIL: test_x (mod.Class.test_x)` then a dashed line, then text up to the next `====`.
  const section =
    /^(?:FAIL|ERROR): (\w+) \(([\w.]+)\)[^\n]*\n(?:[^\n]*\n)?-{20,}\n([\s\S]*?)(?=^={20,}|^-{20,}\nRan |$(?![\s\S]))/gm;
  for (const m of output.matchAll(section)) {
    const { name, module } = testName(m[1]!, m[2]!);
    const t = tests.get(name) ?? { name, status: 'failed' as const, file: module };
    t.status = 'failed';
    t.message = cap(m[3]!.trim());
    tests.set(name, t);
  }
  return [...tests.values()];
}

function testName(method: string, owner: string): { name: string; module: string } {
  // 3.11 prints `mod.Class.test_x`; strip the repeated method name.
  const cls = owner.endsWith(`.${method}`) ? owner.slice(0, -(method.length + 1)) : owner;
  const module = cls.includes('.') ? cls.slice(0, cls.lastIndexOf('.')) : cls;
  return { name: `${cls}::${method}`, module };
}

function unittestStatus(text: string): TestOutcome['status'] | undefined {
  if (text === 'ok' || text === 'unexpected success') return text === 'ok' ? 'passed' : 'failed';
  if (text === 'FAIL' || text === 'ERROR') return 'failed';
  if (text.startsWith('skipped') || text === 'expected failure') return 'skipped';
  return undefined;
}

/**
 * SymPy's `bin/test --verbose`: a `path/to/test_file.py[N]` header, then `test_name ok|F|E|f|s|w|X|T` lines;
 * failure text from the `____ path:test_name ____` sections. Names read `path/to/test_file.py::test_name`.
 */
export function parseSympyText(output: string): TestOutcome[] {
  const tests = new Map<string, TestOutcome>();
  let file = '';
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    const header = /^(\S+\.py)\[\d+\]/.exec(line);
    if (header) {
      file = header[1]!;
      continue;
    }
    const m = /^(test_\w+)\s+(ok|F|E|f|s|w|X|T|Skipped)\b/.exec(line.trim());
    if (!m) continue;
    const status: TestOutcome['status'] =
      m[2] === 'ok' || m[2] === 'X'
        ? 'passed'
        : m[2] === 'F' || m[2] === 'E' || m[2] === 'T'
          ? 'failed'
          : 'skipped';
    const name = file ? `${file}::${m[1]}` : m[1]!;
    tests.set(name, { name, status, ...(file ? { file } : {}) });
  }
  const section = /^_{3,} (\S+\.py):(\w+) _{3,}\n([\s\S]*?)(?=^_{3,} |^={3,}|$(?![\s\S]))/gm;
  for (const m of output.matchAll(section)) {
    const name = `${m[1]}::${m[2]}`;
    const t = tests.get(name) ?? { name, status: 'failed' as const, file: m[1]! };
    t.message = cap(m[3]!.trim());
    tests.set(name, t);
  }
  return [...tests.values()];
}

function cap(text: string): string {
  return text.length <= MESSAGE_CAP ? text : `${text.slice(0, MESSAGE_CAP)}…`;
}
