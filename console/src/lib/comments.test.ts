import { describe, expect, it } from 'vitest';
import { changeRequestText, lineRef } from './comments.ts';

describe('inline comments', () => {
  it('refers to new lines by number and deleted lines as old', () => {
    expect(lineRef({ file: 'src/calc.ts', side: 'new', line: 6 })).toBe('src/calc.ts:6');
    expect(lineRef({ file: 'src/calc.ts', side: 'old', line: 6 })).toBe('src/calc.ts:6 (old)');
  });
  it('joins the comments of a review into one change request, by file and line, empty ones left out', () => {
    expect(
      changeRequestText([
        { file: 'src/calc.ts', side: 'new', line: 12, text: 'Name it diff.' },
        { file: 'README.md', side: 'new', line: 3, text: 'Say so here too.\nWith an example.' },
        { file: 'src/calc.ts', side: 'old', line: 6, text: '  Why remove this?  ' },
        { file: 'src/calc.ts', side: 'new', line: 7, text: '   ' },
      ]),
    ).toBe(
      [
        'README.md:3: Say so here too.\n  With an example.',
        'src/calc.ts:6 (old): Why remove this?',
        'src/calc.ts:12: Name it diff.',
      ].join('\n'),
    );
    expect(changeRequestText([])).toBe('');
  });
});
