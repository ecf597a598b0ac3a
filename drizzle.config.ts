// drizzle-kit: the core tables of the record (no pgvector). Vector tables: actors/recorder/drizzle.vector.config.ts.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './actors/recorder/schema.ts',
  out: './actors/recorder/migrations/core',
});
