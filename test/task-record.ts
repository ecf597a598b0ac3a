// A task record as the conductor leaves it right after submission (status `planning`, no step run yet), for
// tests that drive the conductor or an agent directly on the blackboard.
import { initialWorkflow } from '../actors/conductor/workflow.ts';
import type { TaskRecord } from '../schemas/index.ts';

export function planningTask(id: string): TaskRecord {
  const now = new Date().toISOString();
  return {
    id,
    request: {
      repo: '/tmp',
      title: 't',
      description: '',
      approve: 'manual',
      budget: { maxAttempts: 3, maxCostUsd: 5, maxTokens: 1000 },
    },
    repoPath: '/tmp',
    baseCommit: 'a'.repeat(40),
    status: 'planning',
    attempt: 0,
    workflow: initialWorkflow({ maxAttempts: 3, approveMode: 'manual' }),
    createdAt: now,
    updatedAt: now,
  };
}
