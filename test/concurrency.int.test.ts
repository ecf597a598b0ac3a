// Two tasks editing the same file at once: path locks serialize integration, the later task is rebased onto
// the earlier one's commit, and an edit that cannot be merged is surfaced as a conflict — never lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { ScriptRequest } from './scripted-llm/index.ts';

const EDITS: Record<string, { search: string; replace: string }> = {
  'Fix subtract': {
    search: 'export function subtract(a: number, b: number): number {\n  return a + b;',
    replace: 'export function subtract(a: number, b: number): number {\n  return a - b;',
  },
  // The fixture's subtract test fails until subtract is fixed, so this task fixes it too (the same change
  // as "Fix subtract": identical edits merge cleanly) and documents add, a few lines above.
  'Document add': {
    search:
      'export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function subtract(a: number, b: number): number {\n  return a + b;',
    replace:
      '/** Adds two numbers. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function subtract(a: number, b: number): number {\n  return a - b;',
  },
  'Subtract via negation': {
    search: 'export function subtract(a: number, b: number): number {\n  return a + b;',
    replace: 'export function subtract(a: number, b: number): number {\n  return a + -b;',
  },
};

function script({ roleHint, body }: ScriptRequest) {
  const user = String((body.messages ?? []).find((m) => m.role === 'user')?.content ?? '');
  const title = Object.keys(EDITS).find((t) => user.startsWith(`Task: ${t}`));
  if (roleHint === 'planner')
    return {
      content: JSON.stringify({
        summary: 'edit',
        subtasks: [{ id: 'a', title: 'edit', successCriteria: ['tests pass'] }],
      }),
    };
  if (roleHint === 'reviewer')
    return { content: JSON.stringify({ decision: 'approve', confidence: 0.8, critique: 'fine', risks: [] }) };
  if (!title) throw new Error(`unknown task: ${user.slice(0, 80)}`);
  if (!(body.messages ?? []).some((m) => m.role === 'tool'))
    return { toolCalls: [{ name: 'read_file', arguments: { path: 'src/calc.ts' } }] };
  const e = EDITS[title]!;
  return { content: `src/calc.ts\n<<<<<<< SEARCH\n${e.search}\n=======\n${e.replace}\n>>>>>>> REPLACE\n` };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

async function submit(repo: string, title: string): Promise<string> {
  const r = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({ repo, title, approve: 'auto' }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { task: { id: string } }).task.id;
}

async function finish(id: string): Promise<{ status: string; branch?: string; reason?: string }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const t = (
      (await (await h.api(`/v1/tasks/${id}`)).json()) as {
        task: { status: string; branch?: string; reason?: string };
      }
    ).task;
    if (t.status === 'completed' || t.status === 'failed') return t;
    if (Date.now() > deadline) throw new Error(`task ${id} stuck in ${t.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two tasks on the same file at the same time', () => {
  it('merge-able edits: both complete and the later branch carries both edits', async () => {
    const repo = makeFixtureRepo('ts-calc');
    const base = git(repo, 'rev-parse', 'HEAD');
    const [a, b] = await Promise.all([submit(repo, 'Fix subtract'), submit(repo, 'Document add')]);
    const [ta, tb] = await Promise.all([finish(a), finish(b)]);
    expect([ta.status, tb.status], `${ta.reason} ${tb.reason}`).toEqual(['completed', 'completed']);
    const fileAt = (id: string) => git(repo, 'show', `codemesh/${id}:src/calc.ts`);
    const parent = (id: string) => git(repo, 'rev-parse', `codemesh/${id}~1`);
    // Whichever integrated second was rebased onto the first one's commit, and carries both edits.
    const later = [a, b].find((id) => parent(id) !== base)!;
    const earlier = later === a ? b : a;
    expect(later).toBeDefined();
    expect(parent(earlier)).toBe(base);
    expect(parent(later)).toBe(git(repo, 'rev-parse', `codemesh/${earlier}`));
    expect(fileAt(later)).toContain('return a - b;');
    expect(fileAt(later)).toContain('/** Adds two numbers. */');
    const laterEvents = (await h.client.bus.history(later)).map((e) => e.event);
    const committed = laterEvents.find((e) => e.type === 'integrate.committed');
    expect(committed?.data.rebasedOnto).toEqual([earlier]);
    expect(git(repo, 'rev-parse', 'main')).toBe(base);
  });

  it('conflicting edits: one completes, the other reports a conflict and loses nothing silently', async () => {
    const repo = makeFixtureRepo('ts-calc');
    const base = git(repo, 'rev-parse', 'HEAD');
    const [a, b] = await Promise.all([submit(repo, 'Fix subtract'), submit(repo, 'Subtract via negation')]);
    const results = await Promise.all([finish(a), finish(b)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual(['completed', 'failed']);
    const loser = results[0]!.status === 'failed' ? a : b;
    const winner = loser === a ? b : a;
    expect(results.find((r) => r.status === 'failed')?.reason).toMatch(/conflict|does not apply/);
    const events = (await h.client.bus.history(loser)).map((e) => e.event.type);
    expect(events).toContain('conflict.detected');
    // The winner's edit is on its branch; the loser's patch is still on the blackboard, and no branch for it.
    expect(git(repo, 'rev-list', '--count', `${base}..codemesh/${winner}`)).toBe('1');
    expect(git(repo, 'branch', '--list', `codemesh/${loser}`)).toBe('');
    const body = (await (await h.api(`/v1/tasks/${loser}`)).json()) as { patches: Array<{ diff: string }> };
    expect(body.patches[0]?.diff).toMatch(/return a [-+] -?b;/);
    expect(git(repo, 'rev-parse', 'main')).toBe(base);
  });
});
