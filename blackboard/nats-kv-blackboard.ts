// The blackboard as a NATS KV bucket: JSON entries, zod-validated, compare-and-set on revisions.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm, KvWatchInclude } from '@nats-io/kv';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { Buckets } from '../schemas/index.ts';
import { InvalidEntryError, RevisionConflictError, WriteOnceError } from './errors.ts';
import type { BoardChange, Blackboard, Entry } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function isCasConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) {
    return (
      err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    );
  }
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}

function parse<S extends z.ZodType>(key: string, schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new InvalidEntryError(
      key,
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  return r.data;
}

export class NatsKvBlackboard implements Blackboard {
  private constructor(private readonly kv: KV) {}

  static async open(js: JetStreamClient, bucket: string = Buckets.board): Promise<NatsKvBlackboard> {
    // history 10: enough to audit recent changes; the record of issue 3 keeps the full log.
    const kv = await new Kvm(js).create(bucket, { history: 10 });
    return new NatsKvBlackboard(kv);
  }

  async get<S extends z.ZodType>(key: string, schema: S): Promise<Entry<z.infer<S>> | undefined> {
    const e = await this.kv.get(key);
    if (e?.operation !== 'PUT' || e.length === 0) return undefined;
    return { key, value: parse(key, schema, e.json()), revision: e.revision };
  }

  async create<S extends z.ZodType>(key: string, schema: S, value: z.input<S>): Promise<Entry<z.infer<S>>> {
    const v = parse(key, schema, value);
    try {
      const revision = await this.kv.create(key, enc.encode(JSON.stringify(v)));
      return { key, value: v, revision };
    } catch (err) {
      if (isCasConflict(err)) throw new RevisionConflictError(key, { cause: err });
      throw err;
    }
  }

  async update<S extends z.ZodType>(
    key: string,
    schema: S,
    value: z.input<S>,
    revision: number,
  ): Promise<Entry<z.infer<S>>> {
    const v = parse(key, schema, value);
    try {
      const rev = await this.kv.update(key, enc.encode(JSON.stringify(v)), revision);
      return { key, value: v, revision: rev };
    } catch (err) {
      if (isCasConflict(err)) throw new RevisionConflictError(key, { cause: err });
      throw err;
    }
  }

  async putOnce<S extends z.ZodType>(
    key: string,
    schema: S,
    value: z.input<S>,
    same: (a: z.infer<S>, b: z.infer<S>) => boolean = isDeepStrictEqual,
  ): Promise<{ entry: Entry<z.infer<S>>; created: boolean }> {
    try {
      return { entry: await this.create(key, schema, value), created: true };
    } catch (err) {
      if (!(err instanceof RevisionConflictError)) throw err;
      const existing = await this.get(key, schema);
      if (existing && same(existing.value, parse(key, schema, value)))
        return { entry: existing, created: false };
      throw new WriteOnceError(key);
    }
  }

  async mutate<S extends z.ZodType>(
    key: string,
    schema: S,
    fn: (current: z.infer<S> | undefined) => z.input<S> | undefined,
    opts: { retries?: number } = {},
  ): Promise<Entry<z.infer<S>> | undefined> {
    const retries = opts.retries ?? 20;
    for (let i = 0; ; i++) {
      const cur = await this.get(key, schema);
      const next = fn(cur?.value);
      if (next === undefined) return cur;
      try {
        return cur
          ? await this.update(key, schema, next, cur.revision)
          : await this.create(key, schema, next);
      } catch (err) {
        if (!(err instanceof RevisionConflictError) || i >= retries) throw err;
        // Jitter so racing writers do not collide in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (i + 1)));
      }
    }
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  async keys(filter?: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) out.push(k);
    return out;
  }

  async *watch(
    opts: { filter?: string; includeHistory?: boolean; signal?: AbortSignal } = {},
  ): AsyncIterable<BoardChange> {
    const it = await this.kv.watch({
      key: opts.filter ?? '>',
      include: opts.includeHistory ? KvWatchInclude.AllHistory : KvWatchInclude.LastValue,
    });
    const stop = () => it.stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const e of it) {
        const op = e.operation as BoardChange['op'];
        const value = op === 'PUT' && e.length > 0 ? (JSON.parse(dec.decode(e.value)) as unknown) : null;
        yield { key: e.key, revision: e.revision, op, value };
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      it.stop();
    }
  }
}
