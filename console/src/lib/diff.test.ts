import { describe, expect, it } from 'vitest';
import { classifyDiff, splitDiff } from './diff.ts';

const DIFF = [
  'diff --git a/src/calc.ts b/src/calc.ts',
  'index 1111111..2222222 100644',
  '--- a/src/calc.ts',
  '+++ b/src/calc.ts',
  '@@ -1,3 +1,3 @@',
  ' export function sub(a, b) {',
  '-  return a + b;',
  '+  return a - b;',
  ' }',
  'diff --git a/README.md b/README.md',
  '--- a/README.md',
  '+++ b/README.md',
  '@@ -1,2 +1,2 @@',
  '--- a rule',
  '+++ a heading',
  '\\ No newline at end of file',
  '',
].join('\n');

describe('classifyDiff', () => {
  it('tells headers, hunks, additions, deletions and context apart', () => {
    expect(classifyDiff(DIFF).map((l) => l.kind)).toEqual([
      'file',
      'meta',
      'meta',
      'meta',
      'hunk',
      'context',
      'del',
      'add',
      'context',
      'file',
      'meta',
      'meta',
      'hunk',
      // Inside a hunk, `--- x` and `+++ x` are a deleted and an added line, not file headers.
      'del',
      'add',
      'note',
    ]);
  });

  it('treats lines past the hunk counts as headers again (a truncated or malformed diff)', () => {
    const kinds = classifyDiff('@@ -1 +1 @@\n-a\n+b\n+++ b/next\nplain').map((l) => l.kind);
    expect(kinds).toEqual(['hunk', 'del', 'add', 'meta', 'meta']);
  });
});

describe('splitDiff', () => {
  it('splits per file with paths and counts', () => {
    const files = splitDiff(DIFF);
    expect(files.map((f) => [f.path, f.additions, f.deletions])).toEqual([
      ['src/calc.ts', 1, 1],
      ['README.md', 1, 1],
    ]);
  });

  it('splits plain `diff -u` output on the next --- header and names new and deleted files', () => {
    const files = splitDiff(
      '--- /dev/null\n+++ b/new.ts\n@@ -0,0 +1 @@\n+x\n--- a/old.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n',
    );
    expect(files.map((f) => f.path)).toEqual(['new.ts', 'old.ts']);
  });
});
