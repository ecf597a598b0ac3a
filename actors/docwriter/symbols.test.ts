import { describe, expect, it } from 'vitest';
import { changedSymbols, changelogOf, isDocFile, sectionsMentioning } from './symbols.ts';

const diff = (file: string, minus: string[], plus: string[]) =>
  [
    `diff --git a/${file} b/${file}`,
    `--- a/${file}`,
    `+++ b/${file}`,
    '@@ -1,3 +1,3 @@',
    ...minus.map((l) => `-${l}`),
    ...plus.map((l) => `+${l}`),
  ].join('\n');

describe('changedSymbols', () => {
  it('lists public functions whose definition line changed, in Python and TypeScript', () => {
    const d = [
      diff(
        'calc.py',
        ['def add(a, b):', '    return a + b'],
        ['def add(a, b, c=0):', '    return a + b + c'],
      ),
      diff(
        'src/x.ts',
        ['export function mul(a: number): number {'],
        ['export function mul(a: number, b = 1): number {'],
      ),
    ].join('\n');
    expect(changedSymbols(d)).toEqual([
      { name: 'add', file: 'calc.py', before: 'def add(a, b):', after: 'def add(a, b, c=0):' },
      {
        name: 'mul',
        file: 'src/x.ts',
        before: 'export function mul(a: number): number {',
        after: 'export function mul(a: number, b = 1): number {',
      },
    ]);
  });

  it('ignores bodies, private and unexported functions, and functions only added', () => {
    const d = [
      diff(
        'calc.py',
        ['    return a + b', 'def _helper(a):'],
        ['    return a - b', 'def _helper(a, b):', 'def new(a):'],
      ),
      diff('src/x.ts', ['function local(a) {'], ['function local(a, b) {']),
    ].join('\n');
    expect(changedSymbols(d)).toEqual([]);
  });
});

describe('documentation', () => {
  it('finds the Markdown sections naming a symbol as a whole word, not in other words', () => {
    const readme =
      '# calc\n\nIntro.\n\n## add\n\nUse `add(a, b)`.\n\n## subtract\n\n`subtract` and address.\n';
    expect(sectionsMentioning('README.md', readme, ['add'])).toEqual([
      { file: 'README.md', line: 5, heading: '## add', text: '## add\n\nUse `add(a, b)`.\n' },
    ]);
  });

  it('knows documentation files and the changelog', () => {
    expect(['README.md', 'docs/api.rst', 'CHANGELOG.md', 'calc.py', 'src/x.ts'].filter(isDocFile)).toEqual([
      'README.md',
      'docs/api.rst',
      'CHANGELOG.md',
    ]);
    expect(changelogOf(['README.md', 'CHANGELOG.md'])).toBe('CHANGELOG.md');
    expect(changelogOf(['README.md', 'docs/CHANGELOG.md'])).toBeUndefined();
  });
});
