import { describe, expect, it } from 'vitest';
import type { AssistantMessage } from '../llm/index.ts';
import { noteRepeats, REPEAT_LIMIT } from './loop-guard.ts';

const tool = (name: string, args: string): AssistantMessage => ({
  role: 'assistant',
  content: null,
  tool_calls: [{ id: `c${Math.random()}`, type: 'function', function: { name, arguments: args } }],
});
const edit = (text: string): AssistantMessage => ({ role: 'assistant', content: text });

describe('loop guard', () => {
  it('stops at the third identical tool call, whatever the key order; different calls do not count', () => {
    let seen: Record<string, number> = {};
    for (const m of [
      tool('read_file', '{"path":"a.ts","start":1}'),
      tool('read_file', '{"path":"b.ts"}'),
      tool('read_file', '{"start":1,"path":"a.ts"}'),
    ]) {
      const r = noteRepeats(seen, m);
      expect(r.repeat).toBeUndefined();
      seen = r.seen;
    }
    const third = noteRepeats(seen, tool('read_file', '{ "path": "a.ts", "start": 1 }'));
    expect(third.repeat).toEqual({
      what: 'the tool call read_file {"path":"a.ts","start":1}',
      times: REPEAT_LIMIT.toolCall,
    });
  });

  it('stops when the same edit reply comes back; a changed edit is a new one', () => {
    const first = noteRepeats({}, edit('src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n'));
    expect(first.repeat).toBeUndefined();
    const other = noteRepeats(first.seen, edit('src/a.ts\n<<<<<<< SEARCH\nx\n=======\nz\n>>>>>>> REPLACE\n'));
    expect(other.repeat).toBeUndefined();
    const again = noteRepeats(other.seen, edit('  src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE'));
    expect(again.repeat?.what).toMatch(/^the same edit reply \(sha256 [0-9a-f]{16}\)$/);
    expect(again.repeat?.times).toBe(REPEAT_LIMIT.edit);
  });
});
