// The terminal gate through a real terminal: `codemesh run` under `script` (a pty, so stdin is a TTY), a
// scripted model, and typed answers: the diff and risks come before the question, an unknown key asks again,
// `d` shows the diff, `n` asks what should change and for a confirmation (declined: nothing sent), `y` approves;
// and without a terminal, the printed command approves as printed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';

let llm: ScriptedLlm;
beforeAll(async () => {
  llm = await startScriptedLlm(({ roleHint }) => {
    if (roleHint === 'planner')
      return {
        content: JSON.stringify({
          summary: 'Fix subtract',
          subtasks: [
            { id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'], files: ['calc.py'] },
          ],
        }),
      };
    if (roleHint === 'reviewer')
      return {
        content: JSON.stringify({
          decision: 'approve',
          confidence: 0.9,
          critique: 'Looks right.',
          risks: [{ level: 'medium', note: 'callers that relied on the old sign' }],
        }),
      };
    return {
      content:
        'calc.py\n<<<<<<< SEARCH\ndef subtract(a, b):\n    return a + b\n=======\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n',
    };
  });
});
afterAll(async () => llm?.close());

const QUESTION = /Approve patch t-[a-z0-9]+-p1\? \[y\]es \/ \[n\]o \/ \[d\]iff \/ \[r\]isks \/ \[q\]uit: /g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes of the terminal
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');

it('drives the gate on a pty: diff and risks first, unknown key re-asks, d, n (declined), y', async () => {
  const repo = makeFixtureRepo('py-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const cmd = [
    process.execPath,
    join(CODEMESH_ROOT, 'bin', 'codemesh.js'),
    'run',
    '--repo',
    repo,
    '--title',
    'Fix subtract',
  ]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const child: ChildProcess = spawn('script', ['-qfec', cmd, '/dev/null'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TERM: 'xterm',
      CODEMESH_HOME: mkdtempSync(join(tmpdir(), 'codemesh-pty-')),
      CODEMESH_TOKEN: 'pty-test-token-0123456789',
      CODEMESH_LLM_BASE_URL: llm.url,
      CODEMESH_LLM_API_KEY: 'sk-pty-test-key',
      CODEMESH_LLM_MODEL: 'scripted-model',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const seen: Array<() => void> = [];
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const f of seen.splice(0)) f();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  /** Waits until the output (colour codes removed) matches `re` at least `n` times. */
  const until = async (re: RegExp, n = 1) => {
    const deadline = Date.now() + 150_000;
    for (;;) {
      const count = plain(out).match(new RegExp(re.source, 'g'))?.length ?? 0;
      if (count >= n) return;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no ${re} (×${n}) in:\n${plain(out)}`);
      await new Promise<void>((r) => {
        seen.push(r);
        setTimeout(r, 500);
      });
    }
  };
  const type = (line: string) => child.stdin?.write(`${line}\r`);
  try {
    await until(QUESTION);
    const first = plain(out);
    const q = first.search(QUESTION);
    expect(first.indexOf('+    return a - b')).toBeGreaterThan(-1);
    expect(first.indexOf('+    return a - b')).toBeLessThan(q);
    expect(first.indexOf('[medium] callers that relied on the old sign')).toBeLessThan(q);
    // Coloured on the terminal.
    expect(out).toContain('\u001b[32m+    return a - b');

    type('x');
    await until(/Unknown answer "x"/);
    await until(QUESTION, 2);
    type('d');
    await until(QUESTION, 3);
    expect(plain(out).split('+    return a - b').length).toBeGreaterThanOrEqual(3);
    type('n');
    await until(/What should change\? /);
    type('Also reject NaN.');
    await until(/start attempt 2 \(t-[a-z0-9]+-p1 stays approvable\)\? \[y\/N\] /);
    type('n');
    await until(/Not sent\./);
    await until(QUESTION, 4);
    type('y');
    await until(/✔ done: branch codemesh\/t-[a-z0-9]+/);
    expect(await exited).toBe(0);
    const text = plain(out);
    expect(text).not.toMatch(/changes requested by/);
    const branch = /✔ done: branch (codemesh\/t-[a-z0-9]+)/.exec(text)![1]!;
    expect(git(repo, 'rev-list', '--count', `${base}..${branch}`)).toBe('1');
    expect(git(repo, 'diff', base, branch)).toContain('+    return a - b');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 240_000);

it('without a terminal, the printed approve command works as printed (generated token: a 0600 file)', async () => {
  const repo = makeFixtureRepo('py-calc');
  const home = mkdtempSync(join(tmpdir(), 'codemesh-notty-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'run', '--repo', repo, '--title', 'Fix subtract'],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CODEMESH_HOME: home,
        CODEMESH_LLM_BASE_URL: llm.url,
        CODEMESH_LLM_API_KEY: 'sk-notty-test-key',
        CODEMESH_LLM_MODEL: 'scripted-model',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const deadline = Date.now() + 150_000;
    let approve: string | undefined;
    while (!approve) {
      approve = out
        .split('\n')
        .find((l) => l.trim().startsWith('curl ') && l.includes('"decision":"approve"'))
        ?.trim();
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no approve command in:\n${out}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const tokenFile = /the token is in (\S+), written for this run/.exec(out)?.[1];
    expect(tokenFile, out).toBeDefined();
    expect(statSync(tokenFile!).mode & 0o777).toBe(0o600);
    expect(out).toContain('or request changes (the comment is required');
    // Run as printed, by a shell, with the token read from the file the command names.
    const answer = execFileSync('sh', ['-c', `${approve} -s -w ' %{http_code}'`], { encoding: 'utf8' });
    expect(answer).toMatch(/ 202$/);
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/✔ done: branch codemesh\/t-[a-z0-9]+/);
    expect(existsSync(tokenFile!)).toBe(false);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 240_000);
