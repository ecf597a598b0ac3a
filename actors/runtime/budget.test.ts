import { describe, expect, it } from 'vitest';
import { planningTask } from '../../test/task-record.ts';
import { type BudgetState, ZERO_SPEND } from '../../schemas/index.ts';
import {
  checkBudget,
  committed,
  estimateCall,
  hardBudgetReason,
  hardLimits,
  initialBudget,
} from './budget.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
function state(over: Partial<BudgetState> = {}): BudgetState {
  const task = { ...planningTask('t-b'), createdAt: new Date(T0).toISOString() };
  return { ...initialBudget(task), ...over };
}
const call = (usd = 0.1, tokens = 100) => ({ tokens, usd, calls: 1 });

describe('checkBudget', () => {
  it('counts spending and live reservations; a lapsed reservation no longer counts', () => {
    const s = state({
      soft: { modelCalls: 3 },
      spent: { tokens: 10, usd: 0.01, calls: 1 },
      reservations: [
        { id: 'a', role: 'coder', ...call(), until: T0 + 1000 },
        { id: 'b', role: 'coder', ...call(), until: T0 - 1 },
      ],
    });
    expect(committed(s, T0)).toEqual({ tokens: 110, usd: 0.11, calls: 2 });
    expect(checkBudget(s, 'coder', call(), T0)).toEqual({ ok: true });
    const third = checkBudget({ ...s, spent: { ...s.spent, calls: 2 } }, 'coder', call(), T0);
    expect(third).toEqual({
      ok: false,
      level: 'soft',
      reason: "soft budget: 3 model calls + this coder call would pass the task's limit of 3 calls",
    });
  });

  it('a hard limit wins over a soft one, and each dimension is checked', () => {
    const s = state({ soft: { usd: 0.15 }, hard: { usd: 0.2, tokens: 1000 } });
    expect(checkBudget(s, 'coder', call(0.1), T0)).toEqual({ ok: true });
    expect(checkBudget(s, 'coder', call(0.16), T0)).toMatchObject({ ok: false, level: 'soft' });
    const hard = checkBudget(s, 'coder', call(0.25), T0);
    expect(hard).toMatchObject({ ok: false, level: 'hard' });
    expect((hard as { reason: string }).reason).toMatch(
      /^hard budget: \$0\.0000 \+ ~\$0\.2500 for this coder call would pass the task's limit of \$0\.2$/,
    );
    expect(checkBudget(s, 'coder', call(0.01, 2000), T0)).toMatchObject({ ok: false, level: 'hard' });
  });

  it('wall time counts from the task creation', () => {
    const s = state({ soft: { wallSeconds: 60 }, hard: { wallSeconds: 120 } });
    expect(checkBudget(s, 'planner', call(), T0 + 59_000)).toEqual({ ok: true });
    expect(checkBudget(s, 'planner', call(), T0 + 61_000)).toMatchObject({ level: 'soft' });
    expect(checkBudget(s, 'planner', call(), T0 + 121_000)).toMatchObject({ level: 'hard' });
  });

  it('a role limit counts only that role', () => {
    const s = state({
      roles: { reviewer: { hard: { modelCalls: 1 } } },
      byRole: { coder: { tokens: 0, usd: 0, calls: 5 }, reviewer: { tokens: 0, usd: 0, calls: 1 } },
      spent: { tokens: 0, usd: 0, calls: 6 },
    });
    expect(checkBudget(s, 'coder', call(), T0)).toEqual({ ok: true });
    expect(checkBudget(s, 'reviewer', call(), T0)).toMatchObject({
      level: 'hard',
      reason: "hard budget: 1 model calls + this reviewer call would pass the reviewer's limit of 1 calls",
    });
  });
});

describe('limits and estimates', () => {
  it('hard limits: maxCostUsd / maxTokens unless `hard` names its own', () => {
    const b = planningTask('t').request.budget;
    expect(hardLimits(b)).toEqual({ usd: 5, tokens: 1000 });
    expect(hardLimits({ ...b, hard: { usd: 1, modelCalls: 9 } })).toEqual({
      usd: 1,
      tokens: 1000,
      modelCalls: 9,
    });
  });

  it('a call is estimated from its prompt plus the reserved answer, at the endpoint prices', () => {
    const e = estimateCall(
      { messages: [{ role: 'user', content: 'x'.repeat(3970) }] },
      { priceInPer1k: 1, priceOutPer1k: 2 },
      500,
    );
    // 4000 characters of JSON → 1000 prompt tokens ($1) + 500 answer tokens ($1).
    expect(e).toEqual({ tokens: 1500, usd: 2, calls: 1 });
  });
});

describe('hardBudgetReason (the conductor, between steps, on real spending)', () => {
  const task = { ...planningTask('t-h'), createdAt: new Date(T0).toISOString() };
  const ledger = (usd: number, tokens: number, calls: number) => ({
    taskId: 't-h',
    entries: [],
    totals: { promptTokens: tokens, completionTokens: 0, costUsd: usd, calls },
  });
  it('names the first hard limit passed by the ledger or the budget entry', () => {
    expect(hardBudgetReason(task, ledger(1, 10, 1), undefined, T0)).toBeUndefined();
    expect(hardBudgetReason(task, ledger(6, 10, 1), undefined, T0)).toBe('budget: spent $6.0000 of $5');
    expect(hardBudgetReason(task, ledger(1, 1001, 1), undefined, T0)).toBe(
      'budget: used 1001 tokens of 1000',
    );
    const entry = {
      ...state(),
      hard: { modelCalls: 2, wallSeconds: 60 },
      spent: { tokens: 0, usd: 0, calls: 3 },
    };
    expect(hardBudgetReason(task, undefined, entry, T0)).toBe('budget: made 3 model calls of 2');
    expect(hardBudgetReason(task, undefined, { ...entry, spent: ZERO_SPEND }, T0 + 61_000)).toBe(
      'budget: ran 61 s of 60 s wall time',
    );
  });
});
