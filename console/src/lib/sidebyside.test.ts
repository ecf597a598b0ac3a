import { describe, expect, it } from 'vitest';
import { splitDiff } from './diff.ts';
import { sideBySide } from './sidebyside.ts';

const DIFF = `diff --git a/src/calc.ts b/src/calc.ts
index 1111111..2222222 100644
--- a/src/calc.ts
+++ b/src/calc.ts
@@ -3,4 +3,5 @@ export function add(a: number, b: number): number {
 }
 export function subtract(a: number, b: number): number {
-  return a + b;
+  return a - b;
+  // checked
 }
\\ No newline at end of file
`;

describe('sideBySide', () => {
  it('pairs deletions with additions, numbers both sides, drops git headers', () => {
    const rows = sideBySide(splitDiff(DIFF)[0]!);
    expect(JSON.stringify(rows)).not.toMatch(/diff --git|index 1111|\+\+\+ b\//);
    expect(rows[0]).toEqual({ kind: 'hunk', text: 'export function add(a: number, b: number): number {' });
    expect(rows[1]).toEqual({
      kind: 'line',
      left: { n: 3, text: '}', kind: 'context' },
      right: { n: 3, text: '}', kind: 'context' },
    });
    expect(rows[3]).toEqual({
      kind: 'line',
      left: { n: 5, text: '  return a + b;', kind: 'del' },
      right: { n: 5, text: '  return a - b;', kind: 'add' },
    });
    expect(rows[4]).toEqual({ kind: 'line', left: null, right: { n: 6, text: '  // checked', kind: 'add' } });
    expect(rows[5]).toEqual({
      kind: 'line',
      left: { n: 6, text: '}', kind: 'context' },
      right: { n: 7, text: '}', kind: 'context' },
    });
    expect(rows[6]).toEqual({ kind: 'note', text: 'No newline at end of file' });
  });
});
