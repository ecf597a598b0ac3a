// Test helper: a fresh database on the machine's PostgreSQL (started with deploy/postgres.sh when needed).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** The admin URL: TEST_DATABASE_URL, or the Debian default (trust auth on loopback). */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** Creates `cm_test_<random>`; returns undefined (and why) when no PostgreSQL can be reached or started. */
export async function createTestDatabase(): Promise<TestDatabase | { unavailable: string }> {
  if (!(await reachable(ADMIN_URL))) {
    try {
      execFileSync('bash', [join(import.meta.dirname, '..', '..', 'deploy', 'postgres.sh')], {
        stdio: 'ignore',
      });
    } catch (err) {
      return { unavailable: `deploy/postgres.sh failed: ${(err as Error).message}` };
    }
    if (!(await reachable(ADMIN_URL))) return { unavailable: `no PostgreSQL at ${ADMIN_URL}` };
  }
  const name = `cm_test_${randomBytes(5).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
