// People's names for the API: who approved, who asked for a rollback — not only an internal user id.
import { inArray } from 'drizzle-orm';
import { type RecordDb, schema } from '../actors/recorder/index.ts';

/**
 * The name each user id is shown under: the name from the identity provider, else the token's subject
 * (`<issuer>|<sub>`, `local|dev-admin`). Never the email (personal data the traces redact). Ids the record does
 * not know are left out.
 */
export async function displayNames(db: RecordDb, ids: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)].filter((id) => id !== '');
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: schema.users.id, name: schema.users.name, subject: schema.users.subject })
    .from(schema.users)
    .where(inArray(schema.users.id, wanted));
  return new Map(rows.map((r) => [r.id, r.name?.trim() || r.subject]));
}
