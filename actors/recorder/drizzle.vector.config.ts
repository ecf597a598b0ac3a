// drizzle-kit for the pgvector tables: `npx drizzle-kit generate --config actors/recorder/drizzle.vector.config.ts`.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './actors/recorder/vector-schema.ts',
  out: './actors/recorder/migrations/vector',
});
