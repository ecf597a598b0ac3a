import { describe, expect, it } from 'vitest';
import { extractJson } from './model-call.ts';

describe('extractJson', () => {
  it('reads a plan whose subtask text holds a fenced code block', () => {
    const plan = {
      summary: 'fix parse',
      subtasks: [
        { id: 's1', description: 'Change it to:\n```python\ndef f():\n    return {"a": 1}\n```\nthen test' },
      ],
    };
    expect(extractJson(JSON.stringify(plan, null, 2))).toEqual(plan);
    // The same plan inside a ```json fence, with prose around it.
    const fenced = `Here is the plan:\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\`\nDone.`;
    expect(extractJson(fenced)).toEqual(plan);
  });

  it('skips prose with braces before the object and keeps braces inside strings', () => {
    const v = { note: 'a } and { inside', n: 2 };
    expect(extractJson(`I use {curly} words. ${JSON.stringify(v)} trailing }`)).toEqual(v);
  });

  it('names the problem when nothing parses', () => {
    expect(() => extractJson('no object here')).toThrow(/no JSON object found/);
    expect(() => extractJson('{"a": 1,}')).toThrow(/does not parse/);
    expect(() => extractJson('')).toThrow(/empty/);
  });
});
