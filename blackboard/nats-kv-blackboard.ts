// The blackboard as a NATS KV bucket: JSON entries, zod-validated, compare-and-set on revisions. An entry larger
// than one NATS message (max_payload, 1 MB by default) is stored in content-addressed parts under `blob.<sha>.<n>`
// and the key holds a small pointer to them: a 3 MB patch or a test run with 400 long failures still fits.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm, KvWatchInclude } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { Buckets } from '../schemas/index.ts';
import { InvalidEntryError, RevisionConflictError, WriteOnceError } from './errors.ts';
import type { BoardChange, Blackboard, Entry } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Entries up to this size are stored inline; larger ones in parts of PART_BYTES. */
export const INLINE_MAX_BYTES = 512 * 1024;
const PART_BYTES = 256 * 1024;
/** Keys under this prefix hold parts of large entries; they are not entries themselves. */
export const BLOB_PREFIX = 'blob.';
interface BlobPointer {
  $cmBlob: { id: string; parts: number; bytes: number };
}
const isPointer = (v: unknown): v is BlobPointer =>
  !!v && typeof v === 'object' && '$cmBlob' in v && typeof (v as BlobPointer).$cmBlob?.id === 'string';

export class EntryTooLargeError extends Error {
  override readonly name = 'EntryTooLargeError';
  readonly code = 'ENTRY_TOO_LARGE';
}
/** Even in parts an entry stays below this (the bucket is not a file store). */
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

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

  /** The bytes to store under a key: the JSON itself, or a pointer to its parts (written first). */
  private async encode(key: string, value: unknown): Promise<Uint8Array> {
    const bytes = enc.encode(JSON.stringify(value));
    if (bytes.length <= INLINE_MAX_BYTES) return bytes;
    if (bytes.length > MAX_ENTRY_BYTES)
      throw new EntryTooLargeError(
        `${key} is ${bytes.length} bytes; the blackboard holds entries up to ${MAX_ENTRY_BYTES} bytes`,
      );
    // Content-addressed: a retried write rewrites the same parts; a CAS loser leaves parts nobody points to.
    const id = createHash('sha256').update(bytes).digest('hex').slice(0, 40);
    const parts = Math.ceil(bytes.length / PART_BYTES);
    for (let i = 0; i < parts; i++)
      await this.kv.put(`${BLOB_PREFIX}${id}.${i}`, bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES));
    const pointer: BlobPointer = { $cmBlob: { id, parts, bytes: bytes.length } };
    return enc.encode(JSON.stringify(pointer));
  }

  /** The JSON value stored under a key, reassembled from its parts when it is a pointer. */
  private async decode(key: string, raw: Uint8Array): Promise<unknown> {
    const v = JSON.parse(dec.decode(raw)) as unknown;
    if (!isPointer(v)) return v;
    const { id, parts, bytes } = v.$cmBlob;
    const out = new Uint8Array(bytes);
    let at = 0;
    for (let i = 0; i < parts; i++) {
      const part = await this.kv.get(`${BLOB_PREFIX}${id}.${i}`);
      if (part?.operation !== 'PUT') throw new InvalidEntryError(key, `part ${i} of its value is missing`);
      out.set(part.value, at);
      at += part.value.length;
    }
    if (at !== bytes) throw new InvalidEntryError(key, `its parts hold ${at} bytes, not ${bytes}`);
    return JSON.parse(dec.decode(out));
  }

  async get<S extends z.ZodType>(key: string, schema: S): Promise<Entry<z.infer<S>> | undefined> {
    const e = await this.kv.get(key);
    if (e?.operation !== 'PUT' || e.length === 0) return undefined;
    return { key, value: parse(key, schema, await this.decode(key, e.value)), revision: e.revision };
  }

  async create<S extends z.ZodType>(key: string, schema: S, value: z.input<S>): Promise<Entry<z.infer<S>>> {
    const v = parse(key, schema, value);
    try {
      const revision = await this.kv.create(key, await this.encode(key, v));
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
      const rev = await this.kv.update(key, await this.encode(key, v), revision);
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

  /**
   * Removes the parts of large entries that no entry points to any more (a value overwritten, deleted, or a
   * CAS loser's write). Parts younger than `olderThanMs` stay: a writer stores its parts before the pointer.
   * A part rewritten while the sweep ran is kept (purge on the revision read).
   */
  async collectBlobParts(
    opts: { olderThanMs?: number; now?: number } = {},
  ): Promise<{ entries: number; parts: number; removed: number }> {
    const olderThan = (opts.now ?? Date.now()) - (opts.olderThanMs ?? 10 * 60_000);
    const all = await this.keys();
    const partKeys = all.filter((k) => k.startsWith(BLOB_PREFIX));
    if (partKeys.length === 0) return { entries: all.length, parts: 0, removed: 0 };
    const live = new Set<string>();
    for (const k of all) {
      if (k.startsWith(BLOB_PREFIX)) continue;
      const e = await this.kv.get(k);
      // A pointer is small: only small values can be one.
      if (e?.operation !== 'PUT' || e.length > 1024) continue;
      try {
        const v = JSON.parse(dec.decode(e.value)) as unknown;
        if (isPointer(v)) live.add(v.$cmBlob.id);
      } catch {
        // not JSON: not a pointer
      }
    }
    let removed = 0;
    for (const k of partKeys) {
      const id = k.slice(BLOB_PREFIX.length, k.lastIndexOf('.'));
      if (live.has(id)) continue;
      const e = await this.kv.get(k);
      if (e?.operation !== 'PUT' || e.created.getTime() > olderThan) continue;
      try {
        await this.kv.purge(k, { previousSeq: e.revision });
        removed++;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
    return { entries: all.length - partKeys.length, parts: partKeys.length, removed };
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
        if (e.key.startsWith(BLOB_PREFIX)) continue;
        const op = e.operation as BoardChange['op'];
        const value = op === 'PUT' && e.length > 0 ? await this.decode(e.key, e.value) : null;
        yield { key: e.key, revision: e.revision, op, value };
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      it.stop();
    }
  }
}
