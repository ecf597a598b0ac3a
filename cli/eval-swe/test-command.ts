// The instance's own test command (from its SWE-bench eval_script), rewritten for this machine: the system
// interpreter /usr/bin/python3 with Debian's packages instead of SWE-bench's conda environment.
import { join } from 'node:path';
import { type LogParser, type Project, parserOf, projectOf, type SweInstance } from './dataset.ts';

export const PYTHON = '/usr/bin/python3';
const START = ": '>>>>> Start Test Output'";
const END = ": '>>>>> End Test Output'";

export class TestCommandError extends Error {
  override readonly name = 'TestCommandError';
  readonly code = 'TEST_COMMAND';
}

/** The command between the Start/End Test Output markers of an eval_script, as one line of shell. */
export function extractTestCommand(evalScript: string): string {
  const lines = evalScript.split('\n');
  const start = lines.findIndex((l) => l.trim() === START);
  const end = lines.findIndex((l, i) => i > start && l.trim() === END);
  if (start < 0 || end < 0) throw new TestCommandError('eval_script has no Start/End Test Output markers');
  const body = lines
    .slice(start + 1, end)
    .map((l) => l.trim())
    .filter(Boolean);
  if (body.length !== 1) throw new TestCommandError(`expected one test command line, found ${body.length}`);
  return body[0]!;
}

/**
 * Splits one line of POSIX shell into words: single and double quotes and backslashes; no expansions
 * (`$`, globs, `;`, `|` are refused, since the command is run without a shell).
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const j = line.indexOf("'", i + 1);
      if (j < 0) throw new TestCommandError('unterminated single quote in the test command');
      cur += line.slice(i + 1, j);
      has = true;
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) j++;
        if (line[j] === '$' || line[j] === '`') throw new TestCommandError('expansions are not supported');
        cur += line[j];
      }
      if (j >= line.length) throw new TestCommandError('unterminated double quote in the test command');
      has = true;
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
    } else if (/[$`;|&<>(){}*?]/.test(c)) {
      throw new TestCommandError(`shell syntax "${c}" is not supported in the test command`);
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) words.push(cur);
  return words;
}

const HTTPBIN_PORT = 8765;
const WITH_HTTPBIN =
  `env -u PYTHONPATH ${PYTHON} -m httpbin.core --port ${HTTPBIN_PORT} >/dev/null 2>&1 & ` +
  `i=0; while [ $i -lt 50 ] && ! ${PYTHON} -c 'import socket; socket.create_connection(("127.0.0.1", ${HTTPBIN_PORT}), 0.2)' 2>/dev/null; ` +
  'do sleep 0.2; i=$((i+1)); done; exec "$@"';

export interface TestPlan {
  project: Project;
  parser: LogParser;
  /** argv, run with cwd = the checkout. */
  argv: string[];
  env: Record<string, string>;
  /** Files to write into the checkout first (relative path → content), e.g. pytest's generated _version.py. */
  files: Record<string, string>;
  /** Whether the collections shim must be on PYTHONPATH. */
  needsShim: boolean;
}

/**
 * Old releases that need the shim: `collections.Mapping` & co. (removed in Python 3.10) for sympy and requests;
 * for pytest < 6 the atomicwrites module and AST nodes with locations (its assertion rewriter).
 */
function needsShim(project: Project): boolean {
  return project === 'sympy' || project === 'requests' || project === 'pytest';
}

/**
 * How to run the instance's tests in `workDir` here. `shimDir` holds `sitecustomize.py` (see
 * deploy/eval-env.sh); it goes first on PYTHONPATH for the projects whose old releases need it.
 *
 * @example
 * planTests(inst, '/tmp/grade-1', '/home/me/.cache/codemesh/eval-shim')
 * // django: { argv: ['/usr/bin/python3', './tests/runtests.py', '--verbosity', '2', ...], env: { PYTHONPATH: '/tmp/grade-1', ... } }
 */
export function planTests(inst: SweInstance, workDir: string, shimDir: string): TestPlan {
  const project = projectOf(inst);
  const words = shellWords(extractTestCommand(inst.eval_script));
  const env: Record<string, string> = {
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    PYTHONIOENCODING: 'utf8',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const w = words.shift()!;
    const eq = w.indexOf('=');
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  if (!words.length) throw new TestCommandError('the test command is empty');
  const [exe, ...args] = words as [string, ...string[]];
  let argv: string[];
  if (exe === 'pytest' || exe === 'py.test')
    argv = [PYTHON, '-m', 'pytest', '-p', 'no:cacheprovider', ...args];
  else if (exe === 'python' || exe === 'python3') argv = [PYTHON, ...args];
  else if (/\.py$/.test(exe) || exe === 'bin/test' || exe === './bin/test') argv = [PYTHON, exe, ...args];
  else throw new TestCommandError(`unsupported test program "${exe}"`);

  const files: Record<string, string> = {};
  const path: string[] = [];
  const shim = needsShim(project);
  if (shim) path.push(shimDir);
  switch (project) {
    case 'django':
      path.push(workDir);
      break;
    case 'sympy':
      env.PYTHONHASHSEED = '0';
      path.push(workDir);
      break;
    case 'flask':
      // The pytest-httpbin plugin imports the installed flask before the checkout's could be found.
      path.push(join(workDir, 'src'));
      argv.splice(3, 0, '-p', 'no:httpbin');
      break;
    case 'pytest': {
      path.push(join(workDir, 'src'));
      // setuptools_scm writes this at install time; a plain checkout lacks it.
      const v = versionTuple(inst.version);
      files['src/_pytest/_version.py'] =
        `# generated by codemesh eval swe\n__version__ = version = '${v.join('.')}'\n` +
        `__version_tuple__ = version_tuple = (${v.join(', ')})\n`;
      break;
    }
    case 'requests':
      path.push(workDir);
      // Old releases test against HTTPBIN_URL (default httpbin.org; the sandbox has no network): a local
      // httpbin on the sandbox's own loopback instead, started before the tests and gone with the sandbox.
      env.HTTPBIN_URL = `http://127.0.0.1:${HTTPBIN_PORT}/`;
      argv = ['/bin/sh', '-c', WITH_HTTPBIN, 'sh', ...argv];
      break;
    default:
      path.push(workDir);
  }
  env.PYTHONPATH = path.join(':');
  return { project, parser: parserOf(inst), argv, env, files, needsShim: shim };
}

function versionTuple(version: string | undefined): number[] {
  const parts = (version ?? '0.0').split('.').map((p) => Number.parseInt(p, 10) || 0);
  while (parts.length < 3) parts.push(0);
  return parts.slice(0, 3);
}
