// The live blackboard feed through the real gateway on a real NATS: snapshot then live changes, filtered by
// the caller's orgs, trimmed and scrubbed, counted against the per-token stream limit.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../actors/recorder/index.ts';
import { hashKey, keys, Patch, PathLock, Review, TaskRecord, TestRun } from '../../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

interface BoardEvent {
  event: string;
  data: { key: string; revision: number; op: string; value: Record<string, unknown> | null };
}

/** Reads SSE events from `res` until `done` says so (or fails after `ms`), then cancels the body. */
async function readUntil(
  res: Response,
  done: (seen: BoardEvent[]) => boolean,
  ms = 5000,
): Promise<BoardEvent[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: BoardEvent[] = [];
  let buf = '';
  const timeout = setTimeout(() => void reader.cancel(), ms);
  try {
    while (!done(seen)) {
      const { value, done: ended } = await reader.read();
      if (ended) throw new Error(`stream ended after ${seen.length} events without the expected ones`);
      buf += value;
      for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
        if (event) seen.push({ event, data: JSON.parse(data) as BoardEvent['data'] });
      }
    }
    return seen;
  } finally {
    clearTimeout(timeout);
    await reader.cancel().catch(() => undefined);
  }
}

const has = (seen: BoardEvent[], key: string, minRev = 0) =>
  seen.some((e) => e.data.key === key && e.data.revision > minRev);

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ limits: { maxSsePerToken: 2 } });
});
afterAll(async () => g?.stop());

describe('GET /v1/board/events', () => {
  it('needs a token (401) and the tasks:read scope (403)', async () => {
    const none = await g.call('GET', '/v1/board/events');
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const noScope = await g.call(
      'GET',
      '/v1/board/events',
      await g.jwt('alice', { scopes: ['metrics:read'] }),
    );
    expect(noScope.status).toBe(403);
  });

  it('sends current entries, then a change made after connecting, named by its key kind', async () => {
    const res = await g.call('GET', '/v1/board/events', DEV);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const taskKey = keys.task(g.taskA);
    const before = (await g.mesh.board.get(taskKey, TaskRecord))!;
    let wrote = false;
    const seen = await readUntil(res, (s) => {
      // The snapshot holds the task at its current revision; only then change it, so the new revision can
      // arrive only through the live watch.
      if (!wrote && has(s, taskKey)) {
        wrote = true;
        void g.mesh.board
          .mutate(taskKey, TaskRecord, (t) => t && { ...t, updatedAt: '2026-11-25T11:00:00.000Z' })
          .then(() =>
            g.mesh.board.create(keys.review(g.taskA, 2), Review, {
              id: `${g.taskA}-r2`,
              taskId: g.taskA,
              attempt: 2,
              patchId: `${g.taskA}-p1`,
              decision: 'revise',
              confidence: 0.4,
              critique: 'needs a test',
              risks: [],
              createdAt: '2026-11-25T11:00:00.000Z',
            }),
          );
      }
      return has(s, keys.review(g.taskA, 2));
    });
    const snap = seen.find((e) => e.data.key === taskKey)!;
    expect(snap).toMatchObject({ event: 'task', data: { revision: before.revision, op: 'PUT' } });
    const live = seen.find((e) => e.data.key === taskKey && e.data.revision > before.revision);
    expect(live?.event).toBe('task');
    expect(live?.data.value).toMatchObject({ id: g.taskA, updatedAt: '2026-11-25T11:00:00.000Z' });
    const review = seen.find((e) => e.data.key === keys.review(g.taskA, 2))!;
    expect(review.event).toBe('review');
    expect(review.data.value).toMatchObject({ decision: 'revise', confidence: 0.4 });
    for (const kind of ['plan', 'patch', 'testrun', 'cost']) expect(seen.map((e) => e.event)).toContain(kind);
  });

  it("shows a caller only its orgs' task and lock keys", async () => {
    const [repoA] = await g.record.db.select().from(schema.repos).where(eq(schema.repos.path, g.repoA));
    const [repoB] = await g.record.db.select().from(schema.repos).where(eq(schema.repos.path, g.repoB));
    const lock = (repoPath: string, path: string) =>
      g.mesh.board.create(keys.lock(hashKey(repoPath), path), PathLock, {
        repoKey: hashKey(repoPath),
        path,
        holder: 'integrator-1',
        leaseUntil: Date.now() + 60_000,
        lastCommit: null,
        lastTask: null,
      });
    await lock(repoA!.path, 'a.ts');
    await lock(repoB!.path, 'b.py');
    const bob = await g.jwt('bob');
    const res = await g.call('GET', '/v1/board/events', bob);
    expect(res.status).toBe(200);
    const marker = keys.review(g.taskB, 3);
    let wrote = false;
    const seen = await readUntil(res, (s) => {
      if (!wrote && has(s, keys.task(g.taskB))) {
        wrote = true;
        // A change to org-a's task first, then org-b's: once bob has the second, he would have had the first.
        void g.mesh.board
          .mutate(keys.task(g.taskA), TaskRecord, (t) => t && { ...t, updatedAt: '2026-11-25T12:00:00.000Z' })
          .then(() =>
            g.mesh.board.create(marker, Review, {
              id: `${g.taskB}-r3`,
              taskId: g.taskB,
              attempt: 3,
              patchId: `${g.taskB}-p1`,
              decision: 'approve',
              confidence: 0.9,
              critique: 'fine',
              risks: [],
              createdAt: '2026-11-25T12:00:00.000Z',
            }),
          );
      }
      return has(s, marker);
    });
    const keysSeen = seen.map((e) => e.data.key);
    expect(keysSeen.filter((k) => k.includes(g.taskA))).toEqual([]);
    expect(keysSeen).toEqual(
      expect.arrayContaining([keys.task(g.taskB), keys.plan(g.taskB), keys.patch(`${g.taskB}-p1`)]),
    );
    const locks = seen.filter((e) => e.event === 'lock').map((e) => e.data.value?.path);
    expect(locks).toEqual(['b.py']);
    // The development admin (superuser) sees both orgs.
    const all = await readUntil(await g.call('GET', '/v1/board/events', DEV), (s) => has(s, marker));
    expect(all.filter((e) => e.event === 'lock').map((e) => e.data.value?.path)).toEqual(
      expect.arrayContaining(['a.ts', 'b.py']),
    );
    expect(all.some((e) => e.data.key === keys.task(g.taskA))).toBe(true);
  });

  it('trims long diffs and logs and scrubs secrets from values', async () => {
    const pid = `${g.taskA}-p7`;
    const diff = `--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n-const key = 'sk-abcdefghijklmnop1234';\n${'+filler line\n'.repeat(5000)}`;
    await g.mesh.board.create(keys.patch(pid), Patch, {
      id: pid,
      taskId: g.taskA,
      attempt: 7,
      baseCommit: 'a'.repeat(40),
      diff,
      files: ['x.ts'],
      summary: 'big',
      stats: { additions: 5000, deletions: 1 },
      createdAt: '2026-11-25T12:00:00.000Z',
    });
    const log = `${'noise\n'.repeat(4000)}FINAL LINE token=abcdef123456\n`;
    await g.mesh.board.create(keys.testrun(g.taskA, 7), TestRun, {
      id: `${g.taskA}-7`,
      taskId: g.taskA,
      attempt: 7,
      patchId: pid,
      runner: 'vitest',
      command: ['npx', 'vitest', 'run'],
      exitCode: 1,
      timedOut: false,
      passed: false,
      counts: { passed: 0, failed: 1, skipped: 0 },
      tests: [{ name: 'x', status: 'failed' }],
      log,
      durationMs: 10,
      createdAt: '2026-11-25T12:00:00.000Z',
    });
    const seen = await readUntil(
      await g.call('GET', '/v1/board/events', DEV),
      (s) => has(s, keys.patch(pid)) && has(s, keys.testrun(g.taskA, 7)),
    );
    const patch = seen.find((e) => e.data.key === keys.patch(pid))!.data.value!;
    expect((patch.diff as string).length).toBeLessThanOrEqual(8 * 1024 + 1);
    expect((patch.diff as string).startsWith('--- a/x.ts')).toBe(true);
    expect(patch.diffTruncated).toBe(diff.length);
    expect(JSON.stringify(patch)).not.toContain('sk-abcdefghijklmnop1234');
    const run = seen.find((e) => e.data.key === keys.testrun(g.taskA, 7))!.data.value!;
    expect((run.log as string).length).toBeLessThanOrEqual(8 * 1024 + 1);
    expect(run.log as string).toMatch(/FINAL LINE token=\[REDACTED\]\n$/);
    expect(run.counts).toEqual({ passed: 0, failed: 1, skipped: 0 });
  });

  it('counts against the per-token stream limit and frees the slot when the client goes away', async () => {
    const pat = (
      (await (await g.call('POST', '/v1/tokens', DEV, { name: 'board', scopes: ['tasks:read'] })).json()) as {
        token: string;
      }
    ).token;
    const a = await g.call('GET', '/v1/board/events', pat);
    const b = await g.call('GET', `/v1/tasks/${g.taskB}/events`, pat);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await g.call('GET', '/v1/board/events', pat);
    expect(c.status).toBe(429);
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_STREAMS');
    await a.body!.cancel();
    await new Promise((r) => setTimeout(r, 100));
    const d = await g.call('GET', '/v1/board/events', pat);
    expect(d.status).toBe(200);
    await b.body!.cancel();
    await d.body!.cancel();
  });
});
