import { Client } from '@elastic/elasticsearch';
import Mock from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25.ts';
import { ElasticLexicalIndex, termsToText } from './elastic-lexical.ts';
import { addTerms, pathTerms, splitIdentifier } from './tokenize.ts';

describe('tokenize', () => {
  it('splits identifiers on camelCase and snake_case and keeps compounds', () => {
    expect(splitIdentifier('HTTPResponseNotFound')).toEqual(['http', 'response', 'not', 'found']);
    expect(splitIdentifier('get_queryset')).toEqual(['get', 'queryset']);
    const tf = addTerms('def get_queryset(self): return self.queryCache');
    expect(tf.get('queryset')).toBe(1);
    expect(tf.get('get_queryset')).toBe(1);
    expect(tf.get('querycache')).toBe(1);
    expect(tf.has('self')).toBe(false);
    expect([...pathTerms('django/db/models/query.py').keys()]).toEqual(['django', 'db', 'models', 'query']);
  });
});

describe('Bm25Index', () => {
  const docs: Record<string, string> = {
    'auth.py': 'def check_password(user, password): return hash(password) == user.password_hash',
    'mail.py': 'def send_mail(to, subject, body): smtp.send(to, subject, body)',
    'views.py': 'def login_view(request): user = authenticate(request) ; send_mail(user.email, "hi", "")',
  };

  it('ranks the document that matches rare query terms first and updates in place', async () => {
    const index = new Bm25Index();
    await index.upsert(Object.entries(docs).map(([id, text]) => ({ id, terms: addTerms(text) })));
    expect(await index.count()).toBe(3);
    const hits = await index.search(addTerms('password hash check fails'), 2);
    expect(hits[0]?.id).toBe('auth.py');
    await index.remove(['auth.py']);
    expect((await index.search(addTerms('password'), 3)).map((h) => h.id)).toEqual([]);
    index.put('auth.py', addTerms('def verify_token(token): pass'));
    expect((await index.search(addTerms('verify token'), 1))[0]?.id).toBe('auth.py');
    expect(await index.count()).toBe(3);
  });
});

describe('Bm25Index compaction', () => {
  it('keeps scores right after many deletes and re-adds', () => {
    const index = new Bm25Index();
    for (let i = 0; i < 3000; i++) index.put(`d${i}`, addTerms(`common word${i % 10} unique${i}`));
    for (let i = 0; i < 2500; i++) index.delete(`d${i}`);
    index.put('d1', addTerms('unique1 special'));
    expect(index.size).toBe(501);
    expect(index.searchSync(addTerms('unique2999'), 3).map((h) => h.id)).toEqual(['d2999']);
    expect(index.searchSync(addTerms('unique1'), 3).map((h) => h.id)).toEqual(['d1']);
    expect(index.searchSync(addTerms('unique5'), 3)).toEqual([]);
    expect(index.idf('word3')).toBeCloseTo(Math.log(1 + (501 - 50 + 0.5) / (50 + 0.5)), 6);
  });
});

describe('ElasticLexicalIndex (mocked client: no Elasticsearch server can run here)', () => {
  it('creates the index, bulk-indexes pre-split terms, searches with weighted term queries and deletes', async () => {
    const mock = new Mock();
    const client = new Client({ node: 'http://localhost:9200', Connection: mock.getConnection() });
    const bulkBodies: unknown[] = [];
    let searchBody: unknown;
    mock.add({ method: 'HEAD', path: '/files' }, () => ({}));
    mock.add({ method: 'POST', path: '/_bulk' }, (params) => {
      bulkBodies.push(params.body);
      return { took: 1, errors: false, items: [] };
    });
    mock.add({ method: 'POST', path: '/files/_search' }, (params) => {
      searchBody = params.body;
      return {
        hits: {
          total: { value: 1, relation: 'eq' },
          hits: [{ _index: 'files', _id: 'auth.py', _score: 3.2 }],
        },
      };
    });
    mock.add({ method: 'POST', path: '/files/_count' }, () => ({ count: 2 }));
    mock.add({ method: 'GET', path: '/files/_count' }, () => ({ count: 2 }));

    const index = new ElasticLexicalIndex({ client, index: 'files' });
    await index.upsert([{ id: 'auth.py', terms: addTerms('check_password password') }]);
    const bulk = bulkBodies[0] as Array<Record<string, unknown>>;
    expect(bulk[0]).toEqual({ index: { _index: 'files', _id: 'auth.py' } });
    expect(
      String((bulk[1] as { terms: string }).terms)
        .split(' ')
        .sort(),
    ).toEqual(['check', 'check_password', 'password', 'password']);

    const hits = await index.search(new Map([['password', 2]]), 5);
    expect(hits).toEqual([{ id: 'auth.py', score: 3.2 }]);
    expect(JSON.stringify(searchBody)).toContain('"boost":2');
    expect(await index.count()).toBe(2);
    await index.remove(['auth.py']);
    expect(bulkBodies[1]).toEqual([{ delete: { _index: 'files', _id: 'auth.py' } }]);
  });

  it('repeats terms by frequency for the whitespace analyser', () => {
    expect(
      termsToText(
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
      ),
    ).toBe('a a b');
  });
});
