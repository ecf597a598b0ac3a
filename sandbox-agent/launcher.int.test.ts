// The pre-started bwrap (launcher.ts) against the real bubblewrap and cgroups of this machine: a job it runs
// gets exactly the profile of a freshly started one, a spare that is dead or not as expected is never used,
// nothing with a NUL byte reaches its options pipe, the job's caps still apply, and no spare outlives us.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapSandbox } from './bwrap.ts';
import { ARGS_FD, Launcher, launchData } from './launcher.ts';
import { LAUNCH_WRAPPER } from './profile.ts';

let root: string;
let workDir: string;
const spared = new BwrapSandbox();
const fresh = new BwrapSandbox({ prestart: false });

beforeAll(async () => {
  root = await mkdtemp('/var/tmp/codemesh-launch-');
  workDir = join(root, 'work');
  await mkdir(workDir);
  await writeFile(join(workDir, 'in.txt'), 'tree\n');
  // The first job probes bwrap and leaves a spare behind.
  await spared.run({ command: ['true'], workDir, timeoutMs: 10_000 });
});

afterAll(async () => {
  spared.close();
  await rm(root, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs `job` and checks that the spare waiting before it is the bwrap that ran it (gone afterwards). */
async function onSpare(job: Parameters<typeof spared.run>[0]) {
  const spare = spared.sparePid();
  expect(spare).toBeDefined();
  const res = await spared.run(job);
  expect(alive(spare!)).toBe(false);
  return res;
}

/** Everything of the profile a job can see of itself, with per-run numbers (inodes, pids) taken out. */
const PROFILE_PROBE = [
  'id; hostname; pwd; env | sort; echo "args:$#"; for a in "$@"; do printf "[%s]\\n" "$a"; done',
  'grep -E "^(Uid|Gid|Cap|NoNewPrivs|Seccomp)" /proc/self/status',
  'ls /proc/self/fd | sort | tr "\\n" " "; echo',
  'cat /etc/passwd /etc/hosts; ls /etc | tr "\\n" " "; echo',
  'ls / | tr "\\n" " "; echo; cat in.txt; ls /sys/class/net 2>/dev/null | tr "\\n" " "; echo',
  'sed -n "s/^[0-9]*:\\(memory\\|pids\\):.*\\/\\([0-9]*\\)-[0-9]*$/\\1 job-group/p" /proc/self/cgroup',
  'echo x > /etc/x 2>/dev/null && echo etc-writable; echo y > /usr/y 2>/dev/null && echo usr-writable; true',
].join('\n');
const probeArgs = ['a b', '', "c'd", '$HOME', '--bind', '/', '/', 'line\nbreak', '-'];

describe('pre-started bwrap', () => {
  it('runs the job with exactly the profile, environment and arguments of a freshly started bwrap', async () => {
    const job = {
      command: ['/bin/sh', '-c', PROFILE_PROBE, 'probe', ...probeArgs],
      workDir,
      timeoutMs: 10_000,
      env: { FOO: 'bar baz', CODEMESHARG: 'mine', PATH: '/usr/bin:/bin' },
    };
    const spare = spared.sparePid();
    expect(spare).toBeDefined();
    const a = await spared.run(job);
    // The spare was used (and replaced), not left waiting.
    expect(alive(spare!)).toBe(false);
    expect(spared.sparePid()).toBeDefined();
    expect(spared.sparePid()).not.toBe(spare);
    const b = await fresh.run(job);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(a.stderr).toBe(b.stderr);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain('uid=1000(sandbox) gid=1000(sandbox)');
    expect(a.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(a.stdout).toMatch(/^Seccomp:\s+2$/m);
    expect(a.stdout).toContain("[a b]\n[]\n[c'd]\n[$HOME]\n[--bind]\n[/]\n[/]\n[line\nbreak]\n[-]\n");
    // The trampoline's own entries are gone.
    expect(a.stdout).not.toContain('CODEMESH_ARG');
    expect(a.stdout).toContain('CODEMESHARG=mine');
    expect(a.stdout).toContain('FOO=bar baz');
    expect(a.stdout).toContain('memory job-group');
    expect(a.stdout).toContain('pids job-group');
    expect(a.stdout).not.toContain('writable');
    expect(a.stdout).toContain('\ntree\n');
    expect(a.capsEnforced).toBe(b.capsEnforced);
  });

  it('never uses a spare that died: the job starts a fresh bwrap and runs', async () => {
    const spare = spared.sparePid();
    expect(spare).toBeDefined();
    process.kill(-spare!, 'SIGKILL');
    // No wait: the exit is not reaped yet when the job comes.
    const res = await spared.run({ command: ['sh', '-c', 'cat in.txt; id -u'], workDir, timeoutMs: 10_000 });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toBe('tree\n1000\n');
  });

  it('never uses a spare that is not blocked on its options (stopped): it is killed instead', async () => {
    const spare = spared.sparePid();
    expect(spare).toBeDefined();
    process.kill(spare!, 'SIGSTOP');
    await sleep(50);
    const res = await spared.run({ command: ['sh', '-c', 'id -u'], workDir, timeoutMs: 10_000 });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toBe('1000\n');
    const deadline = Date.now() + 2_000;
    while (alive(spare!) && Date.now() < deadline) await sleep(20);
    expect(alive(spare!)).toBe(false);
  });

  it('refuses NUL bytes: the job is rejected and its options are never written', async () => {
    const spare = spared.sparePid();
    await expect(
      spared.run({ command: ['sh', '-c', 'echo ran', 'x\0--bind\0/\0/'], workDir, timeoutMs: 10_000 }),
    ).rejects.toThrow(TypeError);
    await expect(
      spared.run({ command: ['true'], workDir, timeoutMs: 10_000, env: { A: 'x\0y' } }),
    ).rejects.toThrow(TypeError);
    await expect(
      spared.run({ command: ['true'], workDir, timeoutMs: 10_000, env: { 'A=B': 'x' } }),
    ).rejects.toThrow(TypeError);
    // The spare is untouched by the refused jobs.
    expect(spared.sparePid()).toBe(spare);
    expect(
      launchData({ options: ['--ro-bind', '/usr', '/usr'], env: {}, wrapperArgs: ['a\0--bind'] }),
    ).toBeUndefined();
    expect(launchData({ options: ['--x\0y'], env: {}, wrapperArgs: [] })).toBeUndefined();
    expect(launchData({ options: [], env: { 'K=V': '1' }, wrapperArgs: [] })).toBeUndefined();
    // A job's own CODEMESH_ARG_1 would be dropped by the trampoline: such a job is not launched this way.
    expect(launchData({ options: [], env: { CODEMESH_ARG_1: 'x' }, wrapperArgs: [] })).toBeUndefined();
  });

  it('runs nothing when its options are cut short (this process died while writing them)', async () => {
    // A small profile: enough for /bin/sh to exist, so only the end mark can stop the command.
    // biome-ignore format: flag/value pairs read better kept together
    const options = [
      '--unshare-all', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib',
      '--symlink', 'usr/lib64', '/lib64', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/w', '--chdir', '/w',
    ];
    const data = launchData({
      options,
      env: { PATH: '/usr/bin:/bin' },
      wrapperArgs: ['/w', '0', '0', 'echo', 'RAN'],
    });
    expect(data).toBeDefined();
    const launch = (bytes: Buffer) =>
      new Promise<string>((resolve) => {
        const stdio: Array<'ignore' | 'pipe'> = Array.from({ length: ARGS_FD + 1 }, () => 'ignore');
        stdio[1] = 'pipe';
        stdio[ARGS_FD] = 'pipe';
        const child = spawn(
          'bwrap',
          ['--args', String(ARGS_FD), '--', '/bin/sh', '-c', LAUNCH_WRAPPER, 'x'],
          {
            stdio,
            env: {},
          },
        );
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
        });
        (child.stdio as Array<NodeJS.WritableStream | null>)[ARGS_FD]?.end(bytes);
        child.once('close', () => resolve(out));
      });
    expect(await launch(data!)).toBe('RAN\n');
    // Every cut: inside the environment, the wrapper arguments, the profile, the end mark.
    const cuts = new Set<number>();
    for (let at = 1; at < data!.length; at += Math.ceil(data!.length / 24)) cuts.add(at);
    // (Only the final NUL missing is complete: bwrap reads the last argument all the same.)
    for (let i = 2; i <= 24; i++) cuts.add(data!.length - i);
    for (const at of cuts) expect(await launch(data!.subarray(0, at)), `cut at ${at}`).toBe('');
  });

  it('still applies the job cgroup caps and the time limit', async () => {
    const probe = await spared.run({ command: ['true'], workDir, timeoutMs: 10_000 });
    if (!probe.capsEnforced) {
      console.warn('cgroups unavailable here: caps not tested');
    } else {
      const mem = await onSpare({
        command: ['python3', '-c', 'b = bytearray(400 * 1024 * 1024); print("survived")'],
        workDir,
        timeoutMs: 20_000,
        memoryMb: 128,
      });
      expect(mem.oomKilled).toBe(true);
      expect(mem.stdout).not.toContain('survived');
      const procs = await onSpare({
        command: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); echo $i; done; echo ALL'],
        workDir,
        timeoutMs: 20_000,
        maxProcs: 16,
      });
      expect(procs.stdout).not.toContain('ALL');
      expect(Number(procs.stdout.trim().split('\n').pop())).toBeLessThan(16);
      expect(procs.stderr).toMatch(/fork/i);
    }
    const t0 = Date.now();
    const slow = await onSpare({ command: ['sleep', '30'], workDir, timeoutMs: 500 });
    expect(slow.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('kills a spare nobody used for its idle time', async () => {
    // A stand-in for bwrap that would wait forever: only the idle timer ends it.
    const launcher = new Launcher(
      (shape) => spawn('sleep', ['60'], { stdio: [...shape.stdio], detached: true }),
      [],
      100,
    );
    launcher.prestart({ bwrap: 'bwrap', user: undefined, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = launcher.sparePid();
    expect(pid).toBeDefined();
    expect(alive(pid!)).toBe(true);
    await sleep(400);
    expect(alive(pid!)).toBe(false);
    expect(launcher.sparePid()).toBeUndefined();
    launcher.close();
  });

  it('leaves no spare behind when this process exits, even by SIGKILL', async () => {
    const script = join(root, 'spare.mts');
    const index = join(import.meta.dirname, 'bwrap.ts');
    await writeFile(
      script,
      `import { BwrapSandbox } from ${JSON.stringify(index)};\n` +
        'const s = new BwrapSandbox();\n' +
        `await s.run({ command: ['true'], workDir: ${JSON.stringify(workDir)}, timeoutMs: 10_000 });\n` +
        'console.log(s.sparePid());\n' +
        "if (process.argv[2] === 'hang') setInterval(() => {}, 1000);\n",
    );
    const cwd = join(import.meta.dirname, '..');
    for (const mode of ['exit', 'hang']) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, mode], {
        cwd,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const deadline = Date.now() + 20_000;
      while (!/^\d+\n/.test(out) && Date.now() < deadline) await sleep(20);
      const pid = Number(out.trim());
      expect(pid, mode).toBeGreaterThan(0);
      if (mode === 'hang') {
        expect(alive(pid)).toBe(true);
        child.kill('SIGKILL');
      }
      await new Promise((r) => child.once('close', r));
      const gone = Date.now() + 3_000;
      while (alive(pid) && Date.now() < gone) await sleep(20);
      expect(alive(pid), mode).toBe(false);
    }
  });
});
