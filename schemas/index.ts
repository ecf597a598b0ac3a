// The message contract of codemesh: every message and blackboard entry is validated with these schemas.
export * from './budget.ts';
export * from './candidate.ts';
export * from './curator.ts';
export * from './deadletter.ts';
export * from './events.ts';
export * from './ids.ts';
export * from './keys.ts';
export * from './models.ts';
export * from './plan.ts';
export * from './quota.ts';
export * from './repo-config.ts';
export * from './step.ts';
export * from './subtask.ts';
export * from './subjects.ts';
export * from './task.ts';
export * from './text.ts';
export * from './work.ts';
