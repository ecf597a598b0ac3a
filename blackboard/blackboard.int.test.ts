import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startNatsFixture, type NatsFixture } from '../test/nats.ts';
import { RevisionConflictError, WriteOnceError } from './errors.ts';
import type { MeshConnection } from './mesh.ts';

const Counter = z.object({ n: z.number().int() });

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect();
});
afterAll(async () => nats?.stop());

const Big = z.object({ text: z.string() });
const big = (c: string) => ({ text: c.repeat(700 * 1024) });

describe('NatsKvBlackboard', () => {
  it('collects the parts of large entries nobody points to, and only those, once they are old enough', async () => {
    const partsNow = async () => (await mesh.board.keys('blob.>')).length;
    const before = await partsNow();
    const a = await mesh.board.create('t.big.a', Big, big('a'));
    await mesh.board.update('t.big.a', Big, big('b'), a.revision); // the 'a' parts are orphaned
    await mesh.board.create('t.big.c', Big, big('c'));
    await mesh.board.delete('t.big.c'); // so are the 'c' parts
    const written = (await partsNow()) - before;
    expect(written).toBe(9); // 3 values of 700 KiB, 3 parts of 256 KiB each
    // Young parts stay (a writer puts its parts before the pointer).
    expect((await mesh.board.collectBlobParts()).removed).toBe(0);
    const r = await mesh.board.collectBlobParts({ olderThanMs: 0, now: Date.now() + 1000 });
    expect(r.removed).toBe(6);
    expect((await partsNow()) - before).toBe(3);
    expect((await mesh.board.get('t.big.a', Big))?.value.text.slice(0, 3)).toBe('bbb');
    expect((await mesh.board.collectBlobParts({ olderThanMs: 0, now: Date.now() + 1000 })).removed).toBe(0);
  });

  it('compare-and-set rejects a stale revision', async () => {
    const a = await mesh.board.create('t.cas', Counter, { n: 1 });
    const b = await mesh.board.update('t.cas', Counter, { n: 2 }, a.revision);
    await expect(mesh.board.update('t.cas', Counter, { n: 3 }, a.revision)).rejects.toBeInstanceOf(
      RevisionConflictError,
    );
    expect((await mesh.board.get('t.cas', Counter))?.value).toEqual({ n: 2 });
    expect(b.revision).toBeGreaterThan(a.revision);
  });

  it('create refuses an existing key', async () => {
    await mesh.board.create('t.once', Counter, { n: 1 });
    await expect(mesh.board.create('t.once', Counter, { n: 1 })).rejects.toBeInstanceOf(
      RevisionConflictError,
    );
  });

  it('putOnce is idempotent for the same value and refuses a different one', async () => {
    const first = await mesh.board.putOnce('t.po', Counter, { n: 7 });
    const again = await mesh.board.putOnce('t.po', Counter, { n: 7 });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    await expect(mesh.board.putOnce('t.po', Counter, { n: 8 })).rejects.toBeInstanceOf(WriteOnceError);
  });

  it('validates entries against their schema on write', async () => {
    await expect(mesh.board.create('t.bad', Counter, { n: 'x' } as never)).rejects.toThrow(/invalid/);
  });

  it('mutate loses no increment under 40 concurrent writers from 4 connections', async () => {
    const conns = await Promise.all([1, 2, 3, 4].map((i) => nats.connect(`w${i}`)));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        conns[i % 4]!.board.mutate('t.count', Counter, (cur) => ({ n: (cur?.n ?? 0) + 1 }), { retries: 200 }),
      ),
    );
    expect((await mesh.board.get('t.count', Counter))?.value.n).toBe(40);
  });

  it('watchers see every change', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const c of mesh.board.watch({ filter: 't.watch', signal: ac.signal })) {
        seen.push((c.value as { n: number }).n);
        if (seen.length === 5) ac.abort();
      }
    })();
    let rev = (await mesh.board.create('t.watch', Counter, { n: 0 })).revision;
    for (let i = 1; i < 5; i++) rev = (await mesh.board.update('t.watch', Counter, { n: i }, rev)).revision;
    await done;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('JetStreamEventBus', () => {
  it('de-duplicates by event id and replays in order from a sequence', async () => {
    const taskId = 't-bus00001';
    const at = new Date().toISOString();
    const a = await mesh.bus.publish({ id: 'e1', taskId, type: 'task.created', at });
    const dup = await mesh.bus.publish({ id: 'e1', taskId, type: 'task.created', at });
    const b = await mesh.bus.publish({ id: 'e2', taskId, type: 'plan.ready', at });
    await mesh.bus.publish({ id: 'x1', taskId: 't-other0001', type: 'task.created', at });
    expect(dup.duplicate).toBe(true);
    const all = await mesh.bus.history(taskId);
    expect(all.map((e) => e.event.id)).toEqual(['e1', 'e2']);
    const ac = new AbortController();
    const after: string[] = [];
    for await (const e of mesh.bus.follow(taskId, { afterSeq: a.seq, signal: ac.signal })) {
      after.push(e.event.id);
      if (e.seq >= b.seq) ac.abort();
    }
    expect(after).toEqual(['e2']);
  });
});
