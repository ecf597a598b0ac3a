// Issue 10, edges of a hostile tenant: what the gateway tests do not reach — oversized entries and events, the
// recorder's poison messages (bounded redelivery, dead letters, text Postgres refuses), stale path locks after
// `git init`, the CLI's text checks, and one process per state dir (a second `up`, `run` joining `up`, a busy port).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBase } from '../../actors/integrator/git-integrate.ts';
import { openRecord, type RecordStore, schema } from '../../actors/recorder/index.ts';
import { projectEvent } from '../../actors/recorder/project.ts';
import { Recorder } from '../../actors/recorder/recorder.ts';
import { seedTask } from '../../actors/recorder/test-scenario.ts';
import type { MeshConnection } from '../../blackboard/index.ts';
import { UsageError } from '../../cli/errors.ts';
import { cmdRun } from '../../cli/run.ts';
import { acquireStateLock, lockFile, StateDirBusyError } from '../../cli/state-lock.ts';
import { createGateway } from '../../gateway/index.ts';
import { keys, Patch, TestRun } from '../../schemas/index.ts';
import { CODEMESH_ROOT, git, makeFixtureRepo } from '../fixture-repo.ts';
import { type NatsFixture, startNatsFixture } from '../nats.ts';
import { type ScriptedLlm, startScriptedLlm } from '../scripted-llm/index.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('tenancy-test');
});
afterAll(async () => nats?.stop());

const at = '2026-12-02T01:00:00.000Z';
const waitFor = async (what: string, ok: () => Promise<boolean> | boolean, ms = 15_000) => {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('payloads above max_payload (1 MB)', () => {
  it('a 3 MB patch and a test run with 400 long failures are stored and read back whole', async () => {
    const line = `+${'x'.repeat(99)}\n`;
    const diff = `--- a/big.txt\n+++ b/big.txt\n@@ -0,0 +1,30000 @@\n${line.repeat(30_000)}`;
    expect(diff.length).toBeGreaterThan(3_000_000);
    const patch = {
      id: 't-bigpatch0001-p1',
      taskId: 't-bigpatch0001',
      attempt: 1,
      baseCommit: 'a'.repeat(40),
      diff,
      files: ['big.txt'],
      summary: '1 file',
      stats: { additions: 30_000, deletions: 0 },
      createdAt: at,
    };
    await mesh.board.putOnce(keys.patch(patch.id), Patch, patch);
    expect((await mesh.board.get(keys.patch(patch.id), Patch))?.value.diff).toBe(diff);
    // A redelivered write of the same entry is still recognised as the same.
    expect((await mesh.board.putOnce(keys.patch(patch.id), Patch, patch)).created).toBe(false);

    const tests = Array.from({ length: 400 }, (_, i) => ({
      name: `test_${i}`,
      status: 'failed' as const,
      message: `AssertionError: ${'expected much longer output '.repeat(200)} #${i}`,
    }));
    const run = {
      id: 't-bigpatch0001-1',
      taskId: 't-bigpatch0001',
      attempt: 1,
      patchId: patch.id,
      runner: 'pytest' as const,
      command: ['pytest'],
      exitCode: 1,
      timedOut: false,
      passed: false,
      counts: { passed: 0, failed: 400, skipped: 0 },
      tests,
      log: 'F'.repeat(256 * 1024),
      durationMs: 1,
      createdAt: at,
    };
    expect(JSON.stringify(run).length).toBeGreaterThan(2_000_000);
    await mesh.board.putOnce(keys.testrun(run.taskId, 1), TestRun, run);
    const back = (await mesh.board.get(keys.testrun(run.taskId, 1), TestRun))?.value;
    expect(back?.tests.length).toBe(400);
    expect(back?.tests[399]?.message).toBe(tests[399]!.message);

    // Watchers (the console's board feed) see the whole value, never the parts.
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const ch of mesh.board.watch({ filter: '>', includeHistory: true, signal: ac.signal })) {
      seen.push(ch.key);
      if (ch.key === keys.patch(patch.id))
        expect((ch.value as { diff: string }).diff.length).toBe(diff.length);
      if (ch.key === keys.testrun(run.taskId, 1)) break;
    }
    ac.abort();
    expect(seen.some((k) => k.startsWith('blob.'))).toBe(false);
  });

  it('an event with a 2 MB reason is published with the long text cut and a marker', async () => {
    const { seq, event } = await mesh.bus.publish({
      id: 't-bigevent001:failed',
      taskId: 't-bigevent001',
      type: 'task.failed',
      at,
      data: { reason: `Traceback ${'frame\n'.repeat(400_000)}` },
    });
    expect(seq).toBeGreaterThan(0);
    const [stored] = await mesh.bus.history('t-bigevent001');
    expect(String(stored?.event.data.reason)).toMatch(/^Traceback frame/);
    expect(String(stored?.event.data.reason)).toMatch(/\[cut: \d+ more characters\]$/);
    expect(event.type).toBe('task.failed');
  });
});

describe('recorder: poison events', () => {
  let record: RecordStore;
  beforeAll(async () => {
    record = await openRecord();
  });
  afterAll(async () => record?.close());

  it('a NUL byte or lone surrogate in a test log is recorded (replaced), not redelivered forever', async () => {
    const id = 't-nullog00001';
    const repo = makeFixtureRepo('py-calc');
    await seedTask(mesh, { id, repoPath: repo });
    const run = {
      id: `${id}-9`,
      taskId: id,
      attempt: 9,
      patchId: `${id}-p1`,
      runner: 'pytest' as const,
      command: ['pytest'],
      exitCode: 1,
      timedOut: false,
      passed: false,
      counts: { passed: 0, failed: 1, skipped: 0 },
      tests: [{ name: 'test_\u0000bytes', status: 'failed' as const, message: 'got b"\\x00" \u0000 \ud800' }],
      log: 'binary output: \u0000\u0000 and a lone \udc00 surrogate',
      durationMs: 1,
      createdAt: at,
    };
    await mesh.board.putOnce(keys.testrun(id, 9), TestRun, run);
    const { seq } = await mesh.bus.publish({
      id: `${id}:test9`,
      taskId: id,
      type: 'test.completed',
      at,
      step: { kind: 'test', attempt: 9 },
      data: { passed: false, note: 'nul \u0000 in event data' },
    });
    const rec = new Recorder(mesh, record.db, {
      consumer: 'recorder-nul-test',
      redelivery: { maxDeliver: 3, backoffMs: [50] },
    });
    await rec.start();
    try {
      await rec.waitForSeq(seq, 15_000);
    } finally {
      await rec.stop();
    }
    const [row] = await record.db.select().from(schema.testruns).where(eq(schema.testruns.id, run.id));
    expect(row?.log).toBe('binary output: \uFFFD\uFFFD and a lone \uFFFD surrogate');
    expect(JSON.stringify(row?.tests)).not.toContain('\\u0000');
  });

  it('an event that keeps failing is tried maxDeliver times, then dead-lettered with its reason; later events go on', async () => {
    const id = 't-poison00001';
    await seedTask(mesh, { id, repoPath: makeFixtureRepo('ts-calc') });
    const poison = await mesh.bus.publish({ id: `${id}:poison`, taskId: id, type: 'lock.waiting', at });
    const after = await mesh.bus.publish({ id: `${id}:after`, taskId: id, type: 'cost.recorded', at });
    let tries = 0;
    const rec = new Recorder(mesh, record.db, {
      consumer: 'recorder-dlq-test',
      redelivery: { maxDeliver: 3, backoffMs: [50, 100] },
      project: async (db, board, seq, event) => {
        if (event.id === `${id}:poison`) {
          tries++;
          throw new Error('value too long for type character varying(40) \u0000');
        }
        await projectEvent(db, board, seq, event);
      },
    });
    await rec.start();
    const app = createGateway({
      mesh,
      record,
      token: 'dev-admin-token-0123456789abcdef',
      auth: { hs256: { secret: 'hs256-test-secret-0123456789abcdef0123' } },
    });
    const letters = async (token: string) => {
      const res = await app.request('/v1/deadletters?limit=100', {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: (await res.json()) as { items: Array<Record<string, unknown>> } };
    };
    try {
      await rec.waitForSeq(after.seq, 15_000);
      await waitFor('the dead letter', async () =>
        (await letters('dev-admin-token-0123456789abcdef')).body.items.some(
          (l) => l.eventId === `${id}:poison`,
        ),
      );
      // Bounded: no further delivery once it is dead-lettered.
      await new Promise((r) => setTimeout(r, 600));
      expect(tries).toBe(3);
    } finally {
      await rec.stop();
    }
    const all = await letters('dev-admin-token-0123456789abcdef');
    expect(all.status).toBe(200);
    const letter = all.body.items.find((l) => l.eventId === `${id}:poison`)!;
    expect(letter).toMatchObject({
      consumer: 'recorder-dlq-test',
      seq: poison.seq,
      deliveries: 3,
      taskId: id,
      type: 'lock.waiting',
    });
    expect(String(letter.reason)).toMatch(/value too long/);
    expect(String(letter.reason)).not.toContain('\u0000');
    // Tenancy: a metrics:read token of someone with no role on the task sees none of its letters; without the
    // scope, nothing at all.
    const now = Math.floor(Date.now() / 1000);
    const mint = (scope: string) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('codemesh')
        .setAudience('codemesh')
        .setSubject('mallory')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode('hs256-test-secret-0123456789abcdef0123'));
    const mallory = await letters(await mint('metrics:read'));
    expect(mallory.status).toBe(200);
    expect(JSON.stringify(mallory.body)).not.toContain(id);
    expect((await letters(await mint('tasks:read'))).status).toBe(403);
  }, 30_000);
});

describe('integrator: stale path locks', () => {
  it('a lock whose last commit is gone (repository re-created with git init) is stale, not a divergence', async () => {
    const repo = makeFixtureRepo('py-calc');
    writeFileSync(join(repo, 'calc.py'), 'def add(a, b):\n    return a + b\n');
    git(repo, 'commit', '-qam', 'earlier codemesh task');
    const gone = git(repo, 'rev-parse', 'HEAD');
    // The same path, re-created: a fresh history without that commit.
    rmSync(join(repo, '.git'), { recursive: true, force: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.email', 'dev@example.com');
    git(repo, 'config', 'user.name', 'Dev');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'fresh start');
    const base = git(repo, 'rev-parse', 'HEAD');
    const lock = {
      repoKey: 'k',
      path: 'calc.py',
      holder: null,
      leaseUntil: 0,
      lastCommit: gone,
      lastTask: 't-earlier0001',
    };
    await expect(chooseBase(repo, base, [lock])).resolves.toEqual({ base, after: [] });
  });
});

describe('CLI', () => {
  let llm: ScriptedLlm;
  const saved = { ...process.env };
  beforeAll(async () => {
    llm = await startScriptedLlm(() => ({ content: 'unused' }));
  });
  afterAll(async () => {
    process.env = saved;
    await llm?.close();
  });
  const llmEnv = () => ({
    CODEMESH_LLM_BASE_URL: llm.url,
    CODEMESH_LLM_API_KEY: 'sk-tenancy-test-key',
    CODEMESH_LLM_MODEL: 'scripted-model',
  });

  it('codemesh run refuses a NUL byte or lone surrogate in --title/--description before anything starts', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'codemesh-cli-text-')), 'state');
    process.env.CODEMESH_HOME = home;
    Object.assign(process.env, llmEnv());
    const repo = makeFixtureRepo('py-calc');
    for (const [flag, value] of [
      ['--title', 'fix \u0000 this'],
      ['--title', 'lone \ud800'],
      ['--description', 'trailing \udfff'],
    ] as const) {
      const argv = ['--repo', repo, '--title', 'ok', ...(flag === '--description' ? [flag, value] : [])];
      if (flag === '--title') argv[3] = value;
      const err = await cmdRun(argv).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(
        new RegExp(`^${flag}: contains a NUL byte or a lone UTF-16 surrogate`),
      );
    }
    // Nothing started: no state dir, no nats store, no record.
    expect(existsSync(home)).toBe(false);
  });

  it('codemesh run refuses a repository inside the state dir (exit 2), and nothing is left running', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-cli-state-'));
    const inside = join(home, 'work', 'old-task');
    mkdirSync(inside, { recursive: true });
    execFileSync('git', ['init', '-q', inside]);
    execFileSync('git', [
      '-C',
      inside,
      '-c',
      'user.email=a@b.c',
      '-c',
      'user.name=A',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'x',
    ]);
    process.env.CODEMESH_HOME = home;
    Object.assign(process.env, llmEnv());
    const out: string[] = [];
    const code = await cmdRun(['--repo', inside, '--title', 'x'], {
      write: (s: string) => out.push(s),
    } as unknown as typeof process.stdout);
    expect(code).toBe(2);
    expect(out.join('')).toMatch(/inside codemesh's state dir/);
    expect(existsSync(join(home, 'nats'))).toBe(false);
    expect(existsSync(lockFile(home))).toBe(false);
  });
});

describe('one process per state dir', () => {
  it('a lock held by a live process is refused with its pid; a dead holder is taken over', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-lock-'));
    // A live holder: a child process that sleeps.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    writeFileSync(
      lockFile(home),
      JSON.stringify({ pid: child.pid, command: 'up', startedAt: at, natsUrl: 'nats://127.0.0.1:1' }),
    );
    try {
      const err = (() => {
        try {
          acquireStateLock(home, 'run');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(StateDirBusyError);
      expect((err as Error).message).toContain(`pid ${child.pid}`);
      expect((err as Error).message).toContain('nats://127.0.0.1:1');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Now dead: the lock is stale and taken over.
    const lock = acquireStateLock(home, 'run');
    expect(JSON.parse(readFileSync(lockFile(home), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockFile(home))).toBe(false);
  });

  const cli = join(CODEMESH_ROOT, 'bin', 'codemesh.js');
  const children: ChildProcess[] = [];
  // A model that fixes py-calc's subtract, so a task joined onto an `up` runs to its branch.
  let model: ScriptedLlm;
  beforeAll(async () => {
    model = await startScriptedLlm(({ roleHint }) => {
      if (roleHint === 'planner')
        return {
          content: JSON.stringify({
            summary: 'Fix subtract',
            subtasks: [{ id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'] }],
          }),
        };
      if (roleHint === 'reviewer')
        return {
          content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'Right.', risks: [] }),
        };
      return {
        content:
          'calc.py\n<<<<<<< SEARCH\ndef subtract(a, b):\n    return a + b\n=======\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n',
      };
    });
  });
  afterAll(async () => {
    await model?.close();
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
  });
  const start = (args: string[], env: Record<string, string>) => {
    const c = spawn(process.execPath, [cli, ...args], {
      // Debian's python3 first: its pytest is the one the sandboxed tests can import (see STACK.md).
      env: { PATH: `/usr/bin:/bin:${process.env.PATH}`, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(c);
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    c.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exit = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    return { c, exit, out: () => stdout, err: () => stderr };
  };
  /** nats-server processes whose arguments name `dir` (the store under a state dir). */
  const natsServersIn = (dir: string) =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          return cmd.includes('nats-server') && cmd.includes(dir);
        } catch {
          return false;
        }
      });

  it('`codemesh actor recorder` on the embedded database owns the state dir: a second recorder and an `up` are refused', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-rec-'));
    const env = { CODEMESH_HOME: home, NATS_URL: nats.server.url };
    const first = start(['actor', 'recorder'], env);
    await waitFor('the recorder', () => /codemesh actor recorder on/.test(first.err()), 60_000);
    const holder = JSON.parse(readFileSync(lockFile(home), 'utf8')) as Record<string, unknown>;
    expect(holder).toMatchObject({ pid: first.c.pid, command: 'actor recorder', natsUrl: nats.server.url });

    const second = start(['actor', 'recorder'], env);
    expect(await second.exit).toBe(2);
    expect(second.err()).toContain(`in use by \`codemesh actor recorder\` (pid ${first.c.pid}`);
    expect(second.err()).toContain('DATABASE_URL');
    const up = start(['up', '--port', '0'], { CODEMESH_HOME: home });
    expect(await up.exit).toBe(2);
    expect(up.err()).toContain(`in use by \`codemesh actor recorder\``);

    first.c.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(existsSync(lockFile(home))).toBe(false);
  }, 180_000);

  it('a second `up` says who holds the state dir; a busy port is one line and leaves nothing running', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-up-'));
    const env = {
      CODEMESH_HOME: home,
      CODEMESH_TOKEN: 'tenancy-up-token-0123456789',
      CODEMESH_LLM_BASE_URL: model.url,
      CODEMESH_LLM_API_KEY: 'sk-tenancy-test-key',
      CODEMESH_LLM_MODEL: 'scripted-model',
    };
    const first = start(['up', '--port', '0'], env);
    await waitFor('the first up', () => /codemesh up: NATS/.test(first.out()), 60_000);
    const holder = JSON.parse(readFileSync(lockFile(home), 'utf8')) as { pid: number; natsUrl: string };
    expect(holder.pid).toBe(first.c.pid);
    expect(holder.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);

    const second = start(['up', '--port', '0'], env);
    expect(await second.exit).toBe(2);
    expect(second.err().trim().split('\n')).toHaveLength(1);
    expect(second.err()).toContain(`in use by \`codemesh up\` (pid ${first.c.pid}`);
    expect(natsServersIn(home)).toHaveLength(1);

    // `codemesh run` on the same state dir joins the running `up` (its NATS and actors): the task completes and
    // no second nats-server ever opens the store.
    const repo = makeFixtureRepo('py-calc');
    const joined = start(['run', '--repo', repo, '--title', 'Fix subtract', '--approve', 'auto'], env);
    const servers: number[] = [];
    const watch = setInterval(() => servers.push(natsServersIn(home).length), 200);
    const code = await joined.exit;
    clearInterval(watch);
    // The up's actors took the task past planning (on the old code it stayed `planning` forever). Whether its
    // tests pass depends on the machine's pytest inside the sandbox, not on joining: 0 or 1, never a hang.
    expect([0, 1], joined.out() + joined.err()).toContain(code);
    expect(joined.out()).toContain(`joining \`codemesh up\` (pid ${first.c.pid})`);
    expect(joined.out()).toMatch(/plan: Fix subtract/);
    expect(joined.out()).toMatch(/patch #1: 1 file\(s\), \+1 -1 — calc\.py/);
    expect(joined.out()).toMatch(/(✔ done|✘ failed)/);
    expect(Math.max(...servers)).toBe(1);

    // A busy port, on another state dir: one line, exit 2, no nats-server left behind.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const home2 = mkdtempSync(join(tmpdir(), 'codemesh-up2-'));
    try {
      const busy = start(['up', '--port', String(port)], { ...env, CODEMESH_HOME: home2 });
      expect(await busy.exit).toBe(2);
      expect(busy.err().trim().split('\n')).toEqual([
        `codemesh: port ${port} on 127.0.0.1 is in use; choose another with --port or CODEMESH_PORT (nothing was started)`,
      ]);
      expect(natsServersIn(home2)).toHaveLength(0);
      expect(existsSync(lockFile(home2))).toBe(false);
    } finally {
      blocker.close();
    }
    first.c.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(existsSync(lockFile(home))).toBe(false);
    expect(natsServersIn(home)).toHaveLength(0);
  }, 240_000);
});
