import { describe, expect, it } from 'vitest';
import { extractDocRefs, resolveDocRef } from './doc-refs.ts';
import { extractFile } from './extract-file.ts';
import { rank } from './rank.ts';
import { RepoIndex } from './repo-index.ts';

const file = (path: string, text: string) => extractFile(path, `blob-${path}`, Buffer.from(text));

const DOC = [
  'QuerySet API reference',
  '======================',
  '',
  '.. currentmodule:: shop.models.query',
  '',
  '.. method:: union(*other_qs, all=False)',
  '',
  'Uses SQL UNION to combine the results of two or more querysets, see also',
  ':meth:`~shop.models.query.QuerySet.intersection` and :class:`Prefetch <shop.models.Prefetch>`.',
].join('\n');

function repo(): RepoIndex {
  return new RepoIndex('c1', [
    file('docs/ref/querysets.txt', DOC),
    file(
      'shop/models/query.py',
      'class QuerySet:\n    def union(self, *other_qs, all=False):\n        return self._combine(other_qs)\n\n    def intersection(self, *qs):\n        return self\n',
    ),
    file('shop/models/__init__.py', 'from shop.models.query import QuerySet\n\nclass Prefetch:\n    pass\n'),
    file(
      'shop/views.py',
      'def combine_results(a, b):\n    """Combine the results of two lists."""\n    return a + b\n',
    ),
  ]);
}

describe('doc refs', () => {
  it('reads Sphinx directives and cross-references, titles and ~ stripped', () => {
    expect(extractDocRefs(DOC)).toEqual([
      'shop.models.query',
      'union',
      'shop.models.query.QuerySet.intersection',
      'shop.models.Prefetch',
    ]);
    expect(extractDocRefs('No references in plain prose, `code` either.')).toEqual([]);
  });

  it('resolves names to the files defining them; a bare package is too broad', () => {
    const index = repo();
    expect(resolveDocRef(index, 'shop.models.query.QuerySet.intersection')).toEqual(['shop/models/query.py']);
    expect(resolveDocRef(index, 'shop.models.query')).toEqual(['shop/models/query.py']);
    expect(resolveDocRef(index, 'shop.models')).toEqual([]);
    expect(resolveDocRef(index, 'shop.models.Prefetch')).toEqual(['shop/models/__init__.py']);
    expect(resolveDocRef(index, 'nowhere.Nothing')).toEqual([]);
  });

  it('gives the docRef signal to the code the matching doc section documents', () => {
    const r = rank(repo(), 'Combining the results of querysets with UNION loses ordering', 5, undefined, {
      explain: true,
    });
    const docRef = Object.fromEntries(r.files.map((f) => [f.path, f.features?.docRef ?? 0]));
    expect(docRef['shop/models/query.py']).toBe(1);
    expect(docRef['shop/views.py']).toBe(0);
    expect(docRef['docs/ref/querysets.txt']).toBe(0);
  });
});
