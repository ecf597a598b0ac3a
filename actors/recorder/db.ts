// Opens the record: embedded PGlite (with pgvector) by default, or Postgres through postgres.js when a URL is
// given. Migrations are applied on open; vector tables only where pgvector is available.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as core from './schema.ts';
import * as vectorTables from './vector-schema.ts';

export const tables = { ...core, ...vectorTables };
export type RecordSchema = typeof tables;
/** Either driver: both are drizzle `PgDatabase`s over the same schema. */
export type RecordDb = PgDatabase<PgQueryResultHKT, RecordSchema>;

export interface RecordStore {
  db: RecordDb;
  driver: 'pglite' | 'postgres';
  /** False on a Postgres without pgvector: the embeddings table does not exist there. */
  vector: boolean;
  /** Why vector tables are off and how to turn them on (printed at start). */
  vectorNote?: string;
  /** Releases this handle; the database closes when the last handle sharing it is released. */
  close(): Promise<void>;
}

export interface OpenRecordOptions {
  /** `postgres://…`: use that server. Otherwise PGlite in `dir` (in memory when `dir` is omitted). */
  databaseUrl?: string;
  dir?: string;
  log?: (line: string) => void;
}

const MIGRATIONS = join(import.meta.dirname, 'migrations');
export const NO_PGVECTOR_NOTE =
  'this PostgreSQL has no pgvector extension: the record works without the embeddings table. ' +
  'To store embeddings install pgvector on the server (e.g. the postgresql-<version>-pgvector package, or build ' +
  'it from github.com/pgvector/pgvector) and restart codemesh, or unset DATABASE_URL to use the embedded PGlite, ' +
  'which ships pgvector.';

interface Shared {
  store: Promise<Omit<RecordStore, 'close'> & { shutdown(): Promise<void> }>;
  refs: number;
}
/** One database per PGlite directory (or URL) per process: PGlite must not be opened twice on one directory. */
const open = new Map<string, Shared>();

/**
 * @example const rec = await openRecord({ databaseUrl: process.env.DATABASE_URL, dir: '.codemesh/pg' });
 */
export async function openRecord(opts: OpenRecordOptions = {}): Promise<RecordStore> {
  const key = opts.databaseUrl
    ? `pg:${opts.databaseUrl}`
    : opts.dir
      ? `pglite:${resolve(opts.dir)}`
      : undefined;
  let shared = key ? open.get(key) : undefined;
  if (!shared) {
    shared = {
      store: opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.log) : openPglite(opts.dir),
      refs: 0,
    };
    if (key) open.set(key, shared);
    shared.store.catch(() => key && open.delete(key));
  }
  shared.refs++;
  const s = await shared.store;
  const entry = shared;
  let released = false;
  return {
    db: s.db,
    driver: s.driver,
    vector: s.vector,
    vectorNote: s.vectorNote,
    async close() {
      if (released) return;
      released = true;
      if (--entry.refs > 0) return;
      if (key) open.delete(key);
      await s.shutdown();
    },
  };
}

async function openPglite(dir?: string) {
  if (dir) mkdirSync(dir, { recursive: true });
  // initdb in WASM takes seconds: a new database (in memory or an empty dir) starts from a migrated template.
  const fresh = !dir || readdirSync(dir).length === 0;
  const template = fresh ? await pgliteTemplate() : undefined;
  // The options-object form: `new PGlite(undefined, opts)` silently drops the extensions.
  const client = await PGlite.create({
    ...(dir ? { dataDir: resolve(dir) } : {}),
    ...(template ? { loadDataDir: template } : {}),
    extensions: { vector },
  });
  const db = drizzlePglite({ client, schema: tables });
  await migrateAll(db);
  return {
    db: db as unknown as RecordDb,
    driver: 'pglite' as const,
    vector: true,
    shutdown: () => client.close(),
  };
}

async function migrateAll(db: Parameters<typeof migratePglite>[0]): Promise<void> {
  await migratePglite(db, { migrationsFolder: join(MIGRATIONS, 'core'), migrationsTable: '__codemesh_core' });
  await migratePglite(db, {
    migrationsFolder: join(MIGRATIONS, 'vector'),
    migrationsTable: '__codemesh_vector',
  });
}

let templateBlob: Promise<Blob | undefined> | undefined;

/** A migrated, empty data directory as a tarball, cached in memory and in the OS temp dir per migration set. */
function pgliteTemplate(): Promise<Blob | undefined> {
  templateBlob ??= (async () => {
    const hash = createHash('sha256');
    for (const part of ['core', 'vector'])
      hash.update(readFileSync(join(MIGRATIONS, part, 'meta', '_journal.json')));
    const file = join(tmpdir(), `codemesh-pglite-${hash.digest('hex').slice(0, 16)}.tar.gz`);
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const client = await PGlite.create({ extensions: { vector } });
    try {
      await migrateAll(drizzlePglite({ client, schema: tables }));
      const blob = await client.dumpDataDir('gzip');
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
      renameSync(tmp, file);
      return blob;
    } catch {
      return undefined;
    } finally {
      await client.close();
    }
  })();
  return templateBlob;
}

async function openPostgres(url: string, log?: (line: string) => void) {
  const client = postgres(url, { max: 8, onnotice: () => undefined, connect_timeout: 10 });
  try {
    const db = drizzlePostgres({ client, schema: tables });
    await migratePostgres(db, {
      migrationsFolder: join(MIGRATIONS, 'core'),
      migrationsTable: '__codemesh_core',
    });
    const rows = await client`select 1 from pg_available_extensions where name = 'vector'`;
    let vectorNote: string | undefined;
    if (rows.length > 0) {
      await migratePostgres(db, {
        migrationsFolder: join(MIGRATIONS, 'vector'),
        migrationsTable: '__codemesh_vector',
      });
    } else {
      vectorNote = NO_PGVECTOR_NOTE;
      log?.(`record: ${vectorNote}`);
    }
    return {
      db: db as unknown as RecordDb,
      driver: 'postgres' as const,
      vector: !vectorNote,
      vectorNote,
      shutdown: () => client.end({ timeout: 5 }),
    };
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => undefined);
    throw err;
  }
}

/** Cheap liveness probe used by /healthz. */
export async function pingRecord(db: RecordDb): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}
