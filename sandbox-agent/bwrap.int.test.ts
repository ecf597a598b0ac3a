// Integration tests of BwrapSandbox against the real bubblewrap and cgroups of this machine.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, SandboxUnavailableError } from './index.ts';

const sandbox = createSandbox();
let root: string;
let workDir: string;
let sibling: string;

beforeAll(async () => {
  // Not under /tmp: the sandbox's /tmp is a private tmpfs, so host dirs there would not even be visible.
  root = await mkdtemp('/var/tmp/codemesh-sbx-');
  workDir = join(root, 'work');
  sibling = join(root, 'sibling');
  await Promise.all([mkdir(workDir), mkdir(sibling)]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function sh(script: string, extra: Partial<Parameters<typeof sandbox.run>[0]> = {}) {
  return sandbox.run({ command: ['/bin/sh', '-c', script], workDir, timeoutMs: 10_000, ...extra });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Host processes whose command line contains `token`. */
async function pidsWith(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(token)) pids.push(Number(pid));
  }
  return pids;
}

async function processesWith(token: string): Promise<number> {
  return (await pidsWith(token)).length;
}

/** Cleanup after a failed assertion, so a broken sandbox does not leave sleeps behind. */
async function killProcessesWith(token: string): Promise<void> {
  for (const pid of await pidsWith(token)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe('BwrapSandbox filesystem', () => {
  it('runs on a copy of workDir: writes stay in the sandbox, declared outputs come back', async () => {
    await writeFile(join(workDir, 'in.txt'), 'from-host\n');
    const res = await sh(
      'cat in.txt && echo from-sandbox > out.txt && echo changed > in.txt && mkdir -p a/b report && ' +
        'echo deep > a/b/c.txt && echo r1 > report/one.xml && echo r2 > report/two.xml',
      { outputs: ['report', 'a/b/c.txt'] },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toBe('from-host\n');
    expect(await readFile(join(workDir, 'in.txt'), 'utf8')).toBe('from-host\n');
    expect(existsSync(join(workDir, 'out.txt'))).toBe(false);
    expect(await readFile(join(workDir, 'a/b/c.txt'), 'utf8')).toBe('deep\n');
    expect(await readFile(join(workDir, 'report/one.xml'), 'utf8')).toBe('r1\n');
    expect(await readFile(join(workDir, 'report/two.xml'), 'utf8')).toBe('r2\n');
  });

  it('copies back the Tester report directory by default, and nothing after a timeout', async () => {
    const res = await sh('mkdir -p .codemesh-report && echo ok > .codemesh-report/r.json');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await readFile(join(workDir, '.codemesh-report/r.json'), 'utf8')).toBe('ok\n');
    const late = await sh('echo late > .codemesh-report/late.json; sleep 30', { timeoutMs: 500 });
    expect(late.timedOut).toBe(true);
    expect(existsSync(join(workDir, '.codemesh-report/late.json'))).toBe(false);
  });

  it('runs on an empty work tree (nothing to copy): writable, .git absent, outputs come back', async () => {
    const dir = await mkdtemp(join(root, 'empty-'));
    await writeFile(join(dir, '.git'), 'gitdir: /nowhere\n');
    const res = await sandbox.run({
      command: ['/bin/sh', '-c', 'ls -A; mkdir -p .codemesh-report && echo ok > .codemesh-report/r.json'],
      workDir: dir,
      timeoutMs: 5_000,
    });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(await readFile(join(dir, '.codemesh-report/r.json'), 'utf8')).toBe('ok\n');
  });

  it('works with a workDir under /tmp (mounted over the private tmpfs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codemesh-sbx-tmp-'));
    try {
      await writeFile(join(dir, 'input'), 'in\n');
      const res = await sandbox.run({
        command: ['/bin/sh', '-c', 'cat input > f && pwd'],
        workDir: dir,
        timeoutMs: 5_000,
        outputs: ['f'],
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${dir}\n`);
      expect(await readFile(join(dir, 'f'), 'utf8')).toBe('in\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caps the space of the work tree and of /tmp at diskMb', async () => {
    const res = await sh(
      'head -c 40000000 /dev/zero > big; echo "work=$?"; head -c 40000000 /dev/zero > /tmp/big; echo "tmp=$?"; ' +
        'du -sk big /tmp/big',
      { diskMb: 16 },
    );
    expect(res.stdout).toMatch(/work=[1-9]/);
    expect(res.stdout).toMatch(/tmp=[1-9]/);
    expect(res.stderr).toMatch(/No space left on device/);
    const sizes = [...res.stdout.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1]));
    expect(sizes.length).toBe(2);
    for (const kb of sizes) expect(kb).toBeLessThanOrEqual(16 * 1024);
  });

  it('fails clearly when the work tree does not fit in diskMb', async () => {
    const dir = await mkdtemp(join(root, 'big-'));
    await writeFile(join(dir, 'blob'), Buffer.alloc(3 * 1024 * 1024, 1));
    const res = await sandbox.run({ command: ['true'], workDir: dir, timeoutMs: 10_000, diskMb: 1 });
    expect(res.exitCode).toBe(125);
    expect(res.stderr).toMatch(/cannot copy the work tree/);
  });

  it('runs python3 (with Debian packages) and node, and sees readOnlyPaths only', async () => {
    const res = await sandbox.run({
      command: [
        '/bin/sh',
        '-c',
        'python3 -c "import pytest, ssl; print(\'py\', pytest.__name__)" && node -e "console.log(\'node\', 6*7)" && ' +
          `ls ${sibling} >/dev/null && echo sibling-visible; ls /root /home /var/lib 2>/dev/null | wc -l`,
      ],
      workDir,
      timeoutMs: 20_000,
      readOnlyPaths: [sibling],
    });
    expect(res.stdout, res.stderr).toContain('py pytest');
    expect(res.stdout).toContain('node 42');
    expect(res.stdout).toContain('sibling-visible');
    expect(res.stdout.trim().split('\n').at(-1)).toBe('0');
  });

  it('gives the job a private /tmp', async () => {
    const name = `codemesh-private-${process.pid}-${Date.now()}`;
    const res = await sh(`echo secret > /tmp/${name} && cat /tmp/${name} && ls /tmp | wc -l`);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('secret');
    expect(existsSync(join('/tmp', name))).toBe(false);
  });

  it('writes the log file and truncates captured output to the last 256 KiB', async () => {
    const logFile = join(root, 'job.log');
    const res = await sh('head -c 400000 /dev/zero | tr "\\0" a; echo END; echo to-stderr >&2', { logFile });
    expect(res.exitCode).toBe(0);
    expect(Buffer.byteLength(res.stdout)).toBe(256 * 1024);
    expect(res.stdout.endsWith('aEND\n')).toBe(true);
    const log = await readFile(logFile, 'utf8');
    expect(log.length).toBe(400000 + 'END\n'.length + 'to-stderr\n'.length);
    expect(log).toContain('to-stderr');
  });
});

describe('BwrapSandbox isolation', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((s) => {
      connections++;
      s.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('cannot reach a server listening on the host loopback', async () => {
    const script =
      `const s=require('net').connect(${port},'127.0.0.1');` +
      `s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});` +
      `s.on('error',e=>{console.log('ERR',e.code);process.exit(3)});`;
    const res = await sandbox.run({ command: ['node', '-e', script], workDir, timeoutMs: 10_000 });
    expect(res.stdout).not.toContain('CONNECTED');
    expect(res.stdout).toContain('ERR ECONNREFUSED');
    expect(res.exitCode).toBe(3);
    expect(connections).toBe(0);
  });

  it('has only the loopback interface', async () => {
    const res = await sh('cat /proc/net/dev');
    const ifaces = res.stdout
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]?.trim())
      .filter(Boolean);
    expect(ifaces).toEqual(['lo']);
  });

  it('does not leak parent environment such as OPENAI_API_KEY', async () => {
    process.env.OPENAI_API_KEY = 'sk-codemesh-must-not-leak';
    try {
      const res = await sandbox.run({
        command: ['env'],
        workDir,
        timeoutMs: 5_000,
        env: { EXTRA_VAR: 'passed' },
      });
      expect(res.exitCode).toBe(0);
      expect(res.stdout).not.toContain('sk-codemesh-must-not-leak');
      expect(res.stdout).not.toContain('OPENAI_API_KEY');
      expect(res.stdout).toContain('EXTRA_VAR=passed');
      expect(res.stdout).toContain('HOME=/tmp');
      expect(res.stdout).toContain('CI=1');
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });
});

describe('BwrapSandbox limits', () => {
  // Unique `sleep` arguments, so leftovers can be found on the host (and killed if a test fails).
  const tokens: string[] = [];
  let n = 0;
  const newToken = () => {
    const token = `30.${process.pid}0${++n}`;
    tokens.push(token);
    return token;
  };
  afterAll(async () => {
    for (const token of tokens) await killProcessesWith(token);
  });

  it('kills the whole tree on timeout', async () => {
    const token = newToken();
    const t0 = Date.now();
    const res = await sh(`sleep ${token} & sleep ${token}; wait`, { timeoutMs: 500 });
    expect(res.timedOut).toBe(true);
    expect(res.signal).toBe('SIGKILL');
    expect(res.exitCode).toBeNull();
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(await processesWith(token)).toBe(0);
  });

  it('does not let background processes outlive the command', async () => {
    const token = newToken();
    const t0 = Date.now();
    const res = await sh(`sleep ${token} & echo started`);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe('started\n');
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(await processesWith(token)).toBe(0);
  });

  it('kills the whole tree on timeout without cgroups too', async () => {
    const token = newToken();
    const res = await createSandbox({ useCgroups: false }).run({
      command: ['/bin/sh', '-c', `sleep ${token} & sleep ${token}; wait`],
      workDir,
      timeoutMs: 500,
    });
    expect(res.capsEnforced).toBe(false);
    expect(res.timedOut).toBe(true);
    // The pid namespace dies with bwrap; give the kernel a moment to reap.
    await new Promise((r) => setTimeout(r, 100));
    expect(await processesWith(token)).toBe(0);
  });

  it('kills the job when the process that started it dies (even by SIGKILL)', async () => {
    const token = newToken();
    const script = join(root, 'orphan.mts');
    const index = join(import.meta.dirname, 'index.ts');
    await writeFile(
      script,
      `import { createSandbox } from ${JSON.stringify(index)};\n` +
        `await createSandbox().run({ command: ['sleep', '${token}'], workDir: ${JSON.stringify(workDir)}, timeoutMs: 60_000 });\n`,
    );
    // node --import tsx, not the tsx CLI: the CLI runs the script in a grandchild that would survive the kill.
    const cwd = join(import.meta.dirname, '..');
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd, stdio: 'ignore' });
    // Wait for the job itself (`sleep`), not just the launcher: a parent that dies while bwrap is still
    // starting up is a narrower case than this test is about.
    const jobRunning = async () => {
      for (const pid of await pidsWith(token)) {
        const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmd.startsWith(`sleep\0${token}`)) return true;
      }
      return false;
    };
    try {
      const deadline = Date.now() + 20_000;
      while (!(await jobRunning()) && Date.now() < deadline) await sleep(50);
      expect(await jobRunning()).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
    const deadline = Date.now() + 3_000;
    while ((await processesWith(token)) > 0 && Date.now() < deadline) await sleep(50);
    expect(await processesWith(token)).toBe(0);
  });

  it('kills the job when the abort signal fires', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const res = await sh('sleep 30', { signal: ac.signal, timeoutMs: 20_000 });
    expect(res.aborted).toBe(true);
    expect(res.timedOut).toBe(false);
    expect(res.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('returns at once for an already aborted signal', async () => {
    const res = await sh('echo ran', { signal: AbortSignal.abort() });
    expect(res.aborted).toBe(true);
    expect(res.stdout).toBe('');
  });

  it('enforces the memory cap (and not below it)', async () => {
    // Allocates and touches 300 MiB in 10 MiB steps.
    const alloc = `const a=[];for(let i=0;i<30;i++)a.push(Buffer.alloc(10*1024*1024,1));console.log('survived')`;
    const capped = await sandbox.run({
      command: ['node', '-e', alloc],
      workDir,
      timeoutMs: 10_000,
      memoryMb: 128,
    });
    if (!capped.capsEnforced) {
      console.warn('cgroups unavailable here: memory cap not tested');
      return;
    }
    expect(capped.stdout).not.toContain('survived');
    expect(capped.oomKilled).toBe(true);
    expect(capped.exitCode).toBe(137);
    const roomy = await sandbox.run({
      command: ['node', '-e', alloc],
      workDir,
      timeoutMs: 30_000, // a loaded 2-core CI box needs seconds for node to touch 300 MiB
      memoryMb: 1024,
    });
    expect(roomy.stdout).toContain('survived');
    expect(roomy.oomKilled).toBe(false);
  });

  it('enforces the process cap on a bounded fork loop', async () => {
    // Tries to start 200 background sleeps; the cap (32) must stop it early.
    const script = 'i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); echo $i; done; echo ALL-STARTED';
    const t0 = Date.now();
    const res = await sh(script, { maxProcs: 32 });
    if (!res.capsEnforced) {
      console.warn('cgroups unavailable here: process cap not tested');
      return;
    }
    expect(res.stdout).not.toContain('ALL-STARTED');
    const started = Number(res.stdout.trim().split('\n').pop());
    expect(started).toBeLessThan(32);
    expect(res.stderr).toMatch(/fork/i);
    expect(Date.now() - t0).toBeLessThan(4_000);
  });

  it('reaps orphans the job leaves, so they do not pile up against the process cap', async () => {
    // 150 short-lived orphans, never more than a few alive; unreaped, their zombies would hit the cap (24).
    const script =
      'i=0; while [ $i -lt 150 ]; do sh -c "sleep 0.01 &" || exit 3; i=$((i+1)); done; echo ALL-DONE';
    const res = await sh(script, { maxProcs: 24, timeoutMs: 30_000 });
    expect(res.stdout, res.stderr).toContain('ALL-DONE');
  });

  it('lets a job that signals itself die of it (the command is not pid 1)', async () => {
    const res = await sh('kill -TERM $$; sleep 5; echo SURVIVED', { outputs: [] });
    expect(res.stdout).not.toContain('SURVIVED');
    expect(res.exitCode).toBe(128 + 15);
  });

  it('removes its job cgroups after each run', async () => {
    const res = await sh('true');
    if (!res.capsEnforced) return;
    const base = '/sys/fs/cgroup/pids/codemesh';
    const ours = (await readdir(base)).filter((n) => n.startsWith(`${process.pid}-`));
    expect(ours).toEqual([]);
  });
});

describe('BwrapSandbox errors', () => {
  it('reports a missing bwrap as SandboxUnavailableError naming the fix', async () => {
    const broken = createSandbox({ bwrapPath: '/nonexistent/bwrap' });
    const err = await broken.run({ command: ['true'], workDir, timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxUnavailableError);
    expect((err as SandboxUnavailableError).code).toBe('SANDBOX_UNAVAILABLE');
    expect((err as Error).message).toContain('npm run setup');
  });

  it('rejects a relative or missing workDir as a caller error', async () => {
    await expect(sandbox.run({ command: ['true'], workDir: 'rel', timeoutMs: 1_000 })).rejects.toThrow(
      TypeError,
    );
    await expect(
      sandbox.run({ command: ['true'], workDir: join(root, 'missing'), timeoutMs: 1_000 }),
    ).rejects.toThrow(TypeError);
  });

  it('reports a missing command through the exit code, not a rejection', async () => {
    const res = await sandbox.run({ command: ['no-such-command-xyz'], workDir, timeoutMs: 5_000 });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/no-such-command-xyz/);
  });
});

// Control for the refusal tests: the host itself can write there, so the refusal is the sandbox's doing.
it('host can write the sibling directory (so the refusal above is the sandbox, not permissions)', async () => {
  await writeFile(join(sibling, 'host.txt'), 'ok');
  expect(await readFile(join(sibling, 'host.txt'), 'utf8')).toBe('ok');
});
