// Public surface of the recorder: the system of record (Postgres/PGlite), its projection and rebuild.
export {
  NO_PGVECTOR_NOTE,
  type OpenRecordOptions,
  openRecord,
  pingRecord,
  type RecordDb,
  type RecordStore,
  tables,
} from './db.ts';
export { projectEvent, upsertTask } from './project.ts';
export { type RebuildReport, rebuildBlackboard } from './rebuild.ts';
export { RECORDER_CONSUMER, Recorder, type RecorderOptions } from './recorder.ts';
export * as schema from './schema.ts';
