import { describe, expect, it } from 'vitest';
import { extractPhrases, PhraseIndex } from './phrases.ts';

const QUERY_PY = [
  'def names_to_path(self, names):',
  '    """Resolve the names (docstrings are not phrases: \'it is a long sentence here\')."""',
  '    raise FieldError(',
  '        "Cannot resolve keyword \'%s\' into field. Choices are: %s" % (name, ", ".join(available))',
  '    )',
  "    msg = f'{model} has no field named {name!r}, check the spelling'",
  "    short = 'too short'",
  '    two = "two words_only_here_but_long"',
].join('\n');

describe('phrases', () => {
  it('keeps string literals split at printf and format placeholders, normalised, docstrings left out', () => {
    const got = extractPhrases(QUERY_PY);
    expect(got).toContain("cannot resolve keyword '");
    expect(got).toContain("' into field. choices are:");
    expect(got).toContain(', check the spelling');
    expect(got.some((p) => p.includes('docstrings'))).toBe(false);
    expect(got.some((p) => p.includes('too short'))).toBe(false);
    // fewer than three words
    expect(got.some((p) => p.includes('words_only'))).toBe(false);
  });

  it('scores the files whose phrases the query quotes, rarer phrases higher', () => {
    const index = new PhraseIndex([
      extractPhrases(QUERY_PY),
      ['this field is required for the form'],
      ['this field is required for the form', 'another message entirely here'],
      undefined,
    ]);
    const issue =
      "Filtering fails:\n\n    FieldError: Cannot   resolve keyword 'foo' into field. Choices are: id, name\n" +
      'and the form says This field is required for the form.';
    const m = index.match(issue);
    expect([...m.keys()].sort()).toEqual([0, 1, 2]);
    expect(m.get(0)!).toBeGreaterThan(m.get(1)!);
    expect(m.get(1)).toBeCloseTo(m.get(2)!);
    expect(index.match('nothing quoted here at all, nothing').size).toBe(0);
  });
});
