import { describe, expect, it } from 'vitest';
import type { Plan } from '../types.ts';
import { fileRationale } from './rationale.ts';

const plan: Plan = {
  summary: 'Fix the calculator',
  subtasks: [
    { id: 'fix', title: 'Make subtract return a - b', dependsOn: [], files: ['src/calc.ts'] },
    { id: 'test', title: 'Cover subtract', dependsOn: ['fix'], files: ['src/calc.ts', 'src/calc.test.ts'] },
    { id: 'verify', title: 'Run the tests', dependsOn: ['test'] },
  ],
};

describe('fileRationale', () => {
  it('names every subtask that lists the file', () => {
    expect(fileRationale('src/calc.ts', plan, 'summary')).toEqual({
      reasons: ['Make subtract return a - b', 'Cover subtract'],
      subtasks: ['fix', 'test'],
    });
  });
  it('falls back to the patch summary, then the plan summary, as the pull request does', () => {
    expect(fileRationale('README.md', plan, 'Edited 2 files')).toEqual({
      reasons: ['Edited 2 files'],
      subtasks: [],
    });
    expect(fileRationale('README.md', plan, '').reasons).toEqual(['Fix the calculator']);
    expect(fileRationale('README.md', null, undefined).reasons).toEqual(['part of the change']);
  });
});
