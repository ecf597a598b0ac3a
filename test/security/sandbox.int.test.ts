// A hostile repository gets nothing: each test is one attack a repository's test code could make from inside
// the sandbox, with one assertion that it held. Runs as CI runs (as root, when CI is root). The tally by
// category is printed at the end (and written as JSON to $CODEMESH_SECURITY_RESULTS when set).
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerOutput, prepareReport, type RunnerPlan } from '../../actors/tester/runners.ts';
import { createSandbox, type SandboxJob } from '../../sandbox-agent/index.ts';
import {
  attempts,
  createHostFixtures,
  type HostFixtures,
  killProcessesWith,
  pidsWith,
  record,
  summary,
  workTree,
} from './fixtures.ts';
import { createSrtSandbox } from './srt-engine.ts';

// CODEMESH_SANDBOX_ENGINE=srt runs the suite against @anthropic-ai/sandbox-runtime instead (the issue 10
// evaluation; see srt-engine.ts): one mode, srt as root, as CI runs.
const srt = process.env.CODEMESH_SANDBOX_ENGINE === 'srt' ? await createSrtSandbox() : undefined;

let sandbox = srt ?? createSandbox();
let suffix = '';
const PY = '/usr/bin/python3';
const MiB = 1024 * 1024;
let fx: HostFixtures;

beforeAll(async () => {
  fx = await createHostFixtures();
});

afterAll(async () => {
  console.log(summary());
  if (process.env.CODEMESH_SECURITY_RESULTS) {
    await writeFile(process.env.CODEMESH_SECURITY_RESULTS, JSON.stringify(attempts, null, 2));
  }
  await fx.cleanup();
  await srt?.close();
});

/** `record`, with the category marked by the bwrap mode when it is not the default one. */
function rec(category: string, attack: string, held: boolean): boolean {
  return record(`${category}${suffix}`, attack, held);
}

async function run(script: string, extra: Partial<SandboxJob> = {}) {
  const workDir = extra.workDir ?? (await workTree(fx));
  const res = await sandbox.run({ command: ['/bin/sh', '-c', script], workDir, timeoutMs: 20_000, ...extra });
  return { ...res, workDir, out: `${res.stdout}\n${res.stderr}` };
}

const pyConnect = (family: 'unix' | 'tcp', address: string) =>
  `${PY} -c "import socket,sys
s=socket.socket(socket.AF_UNIX if '${family}'=='unix' else socket.AF_INET)
s.settimeout(3)
try:
  s.connect(${family === 'unix' ? `'${address}'` : `('127.0.0.1', ${address})`}); print('CONNECTED')
except Exception as e: print('REFUSED', type(e).__name__)"`;

// Every attack but the resource ones runs twice: bwrap as "nobody" (the default when root) and bwrap as root
// (what a job gets when its readOnlyPaths are out of nobody's reach): the profile must hold either way.
const MODES = srt
  ? [{ label: 'srt engine (as root)', suffix: ' [srt]', sandbox: srt }]
  : [
      { label: 'bwrap as nobody', suffix: '', sandbox: createSandbox() },
      { label: 'bwrap as root', suffix: ' [bwrap as root]', sandbox: createSandbox({ hostUser: 'self' }) },
    ];

for (const mode of MODES) {
  describe(mode.label, () => {
    beforeAll(() => {
      sandbox = mode.sandbox;
      suffix = mode.suffix;
    });
    afterAll(() => {
      sandbox = MODES[0]!.sandbox;
      suffix = '';
    });

    describe('filesystem: writes', () => {
      it('remount of / read-write, then a write to a host path', async () => {
        const target = join(fx.hostDir, 'after-remount');
        await run(
          `mount -o remount,rw,bind / ; mount -o remount,rw,bind ${fx.root}; mount -o remount,rw /usr; ` +
            `echo pwned > ${target}`,
        );
        expect(rec('filesystem writes', 'remount / rw and write a host path', !existsSync(target))).toBe(
          true,
        );
      });

      it('writes to host paths (work tree, a host dir, /etc, /usr/local)', async () => {
        const id = `codemesh-probe-${process.pid}`;
        const res = await run(
          `echo x > planted; echo x > ${fx.hostDir}/direct; echo x > /etc/${id}; echo x > /usr/local/${id}; ` +
            `echo x > ../${id}`,
        );
        const landed = [
          join(res.workDir, 'planted'),
          join(fx.hostDir, 'direct'),
          `/etc/${id}`,
          `/usr/local/${id}`,
          join(res.workDir, '..', id),
        ].filter((p) => existsSync(p));
        expect(
          rec('filesystem writes', 'write host paths directly', landed.length === 0),
          landed.join(),
        ).toBe(true);
      });

      it('mounts a filesystem of its own (tmpfs over a directory)', async () => {
        const res = await run('mkdir -p m && mount -t tmpfs none m && echo MOUNTED');
        expect(rec('filesystem writes', 'mount a tmpfs', !res.stdout.includes('MOUNTED'))).toBe(true);
      });

      it('swaps the work tree .git for an attacker repository', async () => {
        const wt = await workTree(fx);
        const before = await readFile(join(wt, '.git'), 'utf8');
        await run(
          'rm -rf .git; mkdir -p .git/hooks && printf "#!/bin/sh\\necho pwned > /tmp/hook\\n" > .git/hooks/post-checkout && ' +
            'chmod +x .git/hooks/post-checkout && echo "ref: refs/heads/main" > .git/HEAD',
          { workDir: wt },
        );
        const after = await readFile(join(wt, '.git'), 'utf8').catch(() => 'not a file any more');
        expect(rec('git metadata', 'swap .git for an attacker repo', after === before)).toBe(true);
      });

      it('reads the git metadata of the work tree', async () => {
        const res = await run('cat .git 2>/dev/null && echo SEEN; ls -d .git 2>/dev/null && echo SEEN');
        expect(rec('git metadata', 'see .git in the work tree', !res.stdout.includes('SEEN'))).toBe(true);
      });
    });

    describe('filesystem: secrets', () => {
      it('reads a root-only canary file', async () => {
        const res = await run(`cat ${fx.canary}; grep -r ${fx.secret} /var/tmp /root 2>/dev/null | head -1`);
        expect(rec('host secrets', 'read a root-only canary', !res.out.includes(fx.secret))).toBe(true);
      });

      it('reads the state dir its work tree lives in (NATS store, PGlite)', async () => {
        const res = await run(
          'cat ../../nats/jetstream/store.dat ../../pg/PG_VERSION 2>&1; ' +
            `cat ${fx.stateDir}/nats/jetstream/store.dat 2>&1; ls -R ../.. 2>&1 | head -50`,
        );
        const held = !res.out.includes(fx.secret) && !res.out.includes('store.dat\n');
        expect(rec('host secrets', 'read the state dir', held)).toBe(true);
      });

      it('reads /etc/shadow', async () => {
        const res = await run('cat /etc/shadow /etc/gshadow 2>&1');
        expect(rec('host secrets', 'read /etc/shadow', !/^root:/m.test(res.stdout))).toBe(true);
      });

      it('lists home directories and /run', async () => {
        const res = await run(
          'ls -A /root /home /run /var/run /var/lib 2>/dev/null | grep -v "^/" | grep -c .',
        );
        expect(
          rec('host secrets', 'list /root, /home, /run, /var/lib', Number(res.stdout.trim()) === 0),
        ).toBe(true);
      });

      it('reads a host file through a report symlink (copied back, read by the Tester)', async () => {
        const wt = await workTree(fx);
        const plan: RunnerPlan = {
          kind: 'pytest',
          command: ['true'],
          reportFile: '.codemesh-report/junit.xml',
        };
        await prepareReport(plan, wt);
        const res = await run(`ln -sf ${fx.canaryJunit} .codemesh-report/junit.xml`, { workDir: wt });
        const parsed = await parseRunnerOutput(plan, wt, res.stdout, res.stderr, res.exitCode);
        const held = !JSON.stringify(parsed).includes(fx.secret);
        expect(rec('report handling', 'report symlink to a host file via the sandbox', held)).toBe(true);
      });

      it('reads a host file through a report symlink already in the host tree', async () => {
        const wt = await workTree(fx);
        const plan: RunnerPlan = {
          kind: 'pytest',
          command: ['true'],
          reportFile: '.codemesh-report/junit.xml',
        };
        await prepareReport(plan, wt);
        await symlink(fx.canaryJunit, join(wt, '.codemesh-report', 'junit.xml'));
        const parsed = await parseRunnerOutput(plan, wt, '', '', 0);
        const held = !JSON.stringify(parsed).includes(fx.secret) && parsed.error !== undefined;
        expect(rec('report handling', 'report symlink in the host tree', held)).toBe(true);
      });

      it('reads a host file through a symlinked report directory', async () => {
        const wt = await workTree(fx);
        const plan: RunnerPlan = { kind: 'pytest', command: ['true'], reportFile: 'out/canary.xml' };
        await symlink(fx.secretDir, join(wt, 'out'));
        const parsed = await parseRunnerOutput(plan, wt, '', '', 0);
        const held = !JSON.stringify(parsed).includes(fx.secret);
        expect(rec('report handling', 'report directory symlinked to a host dir', held)).toBe(true);
      });
    });

    describe('host services', () => {
      const sockets = ['/run/postgresql/.s.PGSQL.5432', '/run/mysqld/mysqld.sock'];
      for (const socket of sockets) {
        it.skipIf(!existsSync(socket))(`connects to the host unix socket ${socket}`, async () => {
          const res = await run(pyConnect('unix', socket));
          expect(
            rec('host services', `unix socket ${socket}`, !res.stdout.includes('CONNECTED')),
            res.out,
          ).toBe(true);
        });
      }

      let server: Server;
      let port = 0;
      beforeAll(async () => {
        server = createServer((s) => s.end('hello'));
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as { port: number }).port;
      });
      afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

      it('connects to TCP services on the host loopback (5432 and a live test server)', async () => {
        const res = await run(`${pyConnect('tcp', '5432')}; ${pyConnect('tcp', String(port))}`);
        expect(rec('host services', 'TCP to host loopback', !res.stdout.includes('CONNECTED')), res.out).toBe(
          true,
        );
      });
    });

    describe('privileges', () => {
      it('holds capabilities (CapEff, CapPrm, CapBnd in /proc/self/status)', async () => {
        const res = await run('grep -E "^Cap(Eff|Prm|Bnd):" /proc/self/status');
        const values = [...res.stdout.matchAll(/^Cap\w+:\s*([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
        const held = values.length === 3 && values.every((v) => v === 0n);
        expect(rec('privileges', 'capabilities', held), res.stdout).toBe(true);
      });

      it('runs as uid 0 inside', async () => {
        const res = await run('id -u; id -g');
        expect(
          rec('privileges', 'uid/gid 0 inside', res.stdout.trim() !== '' && !/^0$/m.test(res.stdout)),
        ).toBe(true);
      });

      it('creates a nested user namespace (unshare -U, and -Ur for root in it)', async () => {
        const res = await run('unshare -U true && echo NESTED; unshare -Ur id -u && echo NESTED-ROOT');
        expect(rec('privileges', 'nested user namespace', !res.stdout.includes('NESTED'))).toBe(true);
      });

      it('traces a process (strace, ptrace from python)', async () => {
        const py =
          `${PY} -c "import ctypes,os,time\n` +
          'libc=ctypes.CDLL(None, use_errno=True)\n' +
          'pid=os.fork()\n' +
          'if pid==0: time.sleep(2); os._exit(0)\n' +
          "print('ATTACHED' if libc.ptrace(16, pid, 0, 0)==0 else 'DENIED')\"";
        const res = await run(`strace -o /dev/null /bin/true 2>/dev/null && echo TRACED; ${py}`);
        const held = !res.stdout.includes('TRACED') && !res.stdout.includes('ATTACHED');
        expect(rec('privileges', 'ptrace', held), res.out).toBe(true);
      });

      it('rewrites a kernel setting (remount /proc/sys rw; writes core_pattern back unchanged)', async () => {
        const res = await run(
          'mount -o remount,rw /proc/sys 2>/dev/null; v=$(cat /proc/sys/kernel/core_pattern); ' +
            'printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern && echo WROTE',
        );
        expect(rec('privileges', 'write /proc/sys (core_pattern)', !res.stdout.includes('WROTE'))).toBe(true);
      });
    });
  });
}

describe('resources', () => {
  const tokens: string[] = [];
  let n = 0;
  const newToken = () => {
    const token = `40.${process.pid}0${++n}`;
    tokens.push(token);
    return token;
  };
  afterAll(async () => {
    for (const token of tokens) await killProcessesWith(token);
  });

  it('fills the disk through the work tree beyond the cap', async () => {
    const res = await run('head -c 268435456 /dev/zero > fill; stat -c "SIZE %s" fill', {
      diskMb: 64,
      outputs: ['fill'],
    });
    const size = Number(/SIZE (\d+)/.exec(res.stdout)?.[1] ?? 0);
    const onHost = (await stat(join(res.workDir, 'fill')).catch(() => undefined))?.size ?? 0;
    const held = size <= 64 * MiB && onHost <= 64 * MiB;
    expect(rec('resources', 'disk fill (work tree)', held), `${size} in, ${onHost} on host`).toBe(true);
  });

  it('fills /tmp and /dev/shm beyond the cap', async () => {
    const res = await run(
      'head -c 268435456 /dev/zero > /tmp/fill; head -c 268435456 /dev/zero > /dev/shm/fill; ' +
        'stat -c "SIZE %s" /tmp/fill /dev/shm/fill',
      { diskMb: 64 },
    );
    const sizes = [...res.stdout.matchAll(/SIZE (\d+)/g)].map((m) => Number(m[1]));
    const held = sizes.length === 2 && sizes.every((s) => s <= 64 * MiB);
    expect(rec('resources', 'disk fill (/tmp, /dev/shm)', held), res.stdout).toBe(true);
  });

  it('fork bomb', async () => {
    const token = newToken();
    const t0 = Date.now();
    const res = await run(`bomb() { sleep ${token} & bomb | bomb & }; bomb; sleep 5`, {
      maxProcs: 64,
      timeoutMs: 4_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    const leftovers = (await pidsWith(token)).length;
    const held = Date.now() - t0 < 12_000 && leftovers === 0 && (res.capsEnforced || res.timedOut);
    expect(rec('resources', 'fork bomb', held), `${leftovers} left`).toBe(true);
  });

  it('memory bomb', async () => {
    const res = await run(`${PY} -c "a = b'x' * (1 << 30); print('SURVIVED', len(a))"`, { memoryMb: 128 });
    const held = !res.stdout.includes('SURVIVED') && res.exitCode !== 0;
    expect(rec('resources', 'memory bomb', held), res.out).toBe(true);
  });

  it('timeout with trapped signals', async () => {
    const token = newToken();
    const t0 = Date.now();
    const res = await run(`trap '' TERM INT HUP; sleep ${token} & while :; do :; done`, { timeoutMs: 1_000 });
    await new Promise((r) => setTimeout(r, 200));
    const held = res.timedOut && Date.now() - t0 < 5_000 && (await pidsWith(token)).length === 0;
    expect(rec('resources', 'timeout with trapped signals', held)).toBe(true);
  });

  it('daemonizes (setsid + nohup, double fork) to outlive the job', async () => {
    const token = newToken();
    const res = await run(
      `setsid nohup sleep ${token} >/dev/null 2>&1 & ` +
        `${PY} -c "import os,subprocess\nif os.fork()==0:\n  os.setsid()\n  if os.fork()==0: os.execvp('sleep',['sleep','${token}'])\n  os._exit(0)"; ` +
        'echo started',
    );
    await new Promise((r) => setTimeout(r, 300));
    const held = res.stdout.includes('started') && (await pidsWith(token)).length === 0;
    expect(rec('resources', 'daemonize', held)).toBe(true);
  });

  it('floods the host tree through the report directory (5000 files)', async () => {
    const res = await run(
      'mkdir -p .codemesh-report && cd .codemesh-report && i=0; while [ $i -lt 5000 ]; do : > f$i; i=$((i+1)); done',
      { timeoutMs: 60_000 },
    );
    const landed = (await readdir(join(res.workDir, '.codemesh-report')).catch(() => [])).length;
    expect(record('resources', 'output flood (files copied back)', landed <= 64), `${landed} files`).toBe(
      true,
    );
  });

  it('floods stdout', async () => {
    const res = await run('head -c 104857600 /dev/zero | tr "\\0" a', { timeoutMs: 30_000 });
    const held = Buffer.byteLength(res.stdout) <= 256 * 1024;
    expect(rec('resources', 'huge output', held)).toBe(true);
  });
});

describe('the profile still runs builds', () => {
  it('python3 with Debian packages and node work inside', async () => {
    const res = await run(`${PY} -c "import pytest; print('py-ok')" && node -e "console.log('node-ok')"`);
    expect(res.stdout, res.stderr).toContain('py-ok');
    expect(res.stdout).toContain('node-ok');
  });

  it('declared outputs still come back', async () => {
    const res = await run('mkdir -p .codemesh-report && echo "<testsuite/>" > .codemesh-report/junit.xml');
    expect(await readFile(join(res.workDir, '.codemesh-report', 'junit.xml'), 'utf8')).toBe('<testsuite/>\n');
  });
});
