import { describe, expect, it } from 'vitest';
import { extractFile } from './extract-file.ts';
import { rank } from './rank.ts';
import { RepoIndex } from './repo-index.ts';

const file = (path: string, text: string) => extractFile(path, `blob-${path}`, Buffer.from(text));

const FILES: Record<string, string> = {
  'pkg/models/query.py':
    'from pkg.db import connection\n\nclass QuerySet:\n    def order_by(self, *fields):\n        return connection.order(fields)\n\n    def filter(self, **kw):\n        return self\n',
  'pkg/db.py':
    'class Connection:\n    def order(self, fields):\n        return sorted(fields)\n\nconnection = Connection()\n',
  'pkg/views.py':
    'from pkg.models.query import QuerySet\n\ndef list_view(request):\n    return QuerySet().order_by("name")\n',
  'tests/test_query.py':
    'from pkg.models.query import QuerySet\n\ndef test_order_by():\n    assert QuerySet().order_by("x")\n',
  'docs/query.txt': 'QuerySet.order_by sorts the results of a query.\n',
};
const QUERY =
  'QuerySet.order_by ignores fields\n\nCalling `order_by` on a QuerySet in pkg/models/query.py drops the fields: connection.order gets nothing.';

const plain = (r: ReturnType<typeof rank>) => ({ files: r.files, chunks: r.chunks });

describe('rank', () => {
  it('ranks the named file first and a test file below it, chunks at most three per file', () => {
    const index = new RepoIndex(
      'c1',
      Object.entries(FILES).map(([p, t]) => file(p, t)),
    );
    const r = rank(index, QUERY, 5);
    expect(r.files[0]?.path).toBe('pkg/models/query.py');
    const paths = r.files.map((f) => f.path);
    expect(paths.indexOf('tests/test_query.py')).toBeGreaterThan(0);
    expect(r.chunks.length).toBeGreaterThan(0);
    expect(r.chunks.length).toBeLessThanOrEqual(5);
    // A repeated query gives the same answer (per-query scratch is left clean).
    expect(plain(rank(index, QUERY, 5))).toEqual(plain(r));
  });

  it('ranks a moved index exactly like one built at the new commit', () => {
    const moved = new RepoIndex(
      'c1',
      Object.entries(FILES).map(([p, t]) => file(p, t)),
    );
    rank(moved, QUERY, 5);
    const changed = [
      file('pkg/db.py', 'class Connection:\n    def order(self, fields):\n        return list(fields)\n'),
      file(
        'pkg/models/manager.py',
        'from pkg.models.query import QuerySet\n\nclass Manager:\n    def order_by(self):\n        return QuerySet()\n',
      ),
    ];
    moved.update('c2', changed, ['pkg/views.py']);
    const files = { ...FILES };
    delete files['pkg/views.py'];
    const fresh = new RepoIndex('c2', [
      ...Object.entries(files)
        .filter(([p]) => p !== 'pkg/db.py')
        .map(([p, t]) => file(p, t)),
      ...changed,
    ]);
    const a = plain(rank(moved, QUERY, 10));
    expect(a.files.map((f) => f.path)).not.toContain('pkg/views.py');
    expect(a.files.map((f) => f.path)).toContain('pkg/models/manager.py');
    expect(a.files.map((f) => f.path).sort()).toEqual(
      plain(rank(fresh, QUERY, 10))
        .files.map((f) => f.path)
        .sort(),
    );
    for (const f of a.files) {
      const g = plain(rank(fresh, QUERY, 10)).files.find((x) => x.path === f.path)!;
      expect(f.score).toBeCloseTo(g.score, 9);
    }
  });

  it('scores the file whose message the issue quotes (phrase signal), and only that file', () => {
    const index = new RepoIndex('c1', [
      ...Object.entries(FILES).map(([p, t]) => file(p, t)),
      file(
        'pkg/fields.py',
        'def resolve(name, choices):\n    raise ValueError("Cannot resolve keyword %r into field. Choices are: %s" % (name, choices))\n',
      ),
    ]);
    const issue =
      "Filtering fails\n\nValueError: Cannot resolve keyword 'colour' into field. Choices are: id, name";
    const r = rank(index, issue, 5, undefined, { explain: true });
    const phrase = Object.fromEntries(r.files.map((f) => [f.path, f.features?.phrase ?? 0]));
    expect(phrase['pkg/fields.py']).toBe(1);
    expect(Object.entries(phrase).filter(([, v]) => v > 0)).toHaveLength(1);
  });
});
