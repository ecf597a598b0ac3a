import { describe, expect, it } from 'vitest';
import { ModuleResolver } from './imports.ts';
import { findMentions, type MentionIndex, matchPath } from './mentions.ts';

const FILES = [
  'django/db/models/query.py',
  'django/db/models/__init__.py',
  'django/db/models/sql/query.py',
  'django/forms/models.py',
  'lib/matplotlib/axes/_base.py',
];

function index(): MentionIndex {
  const byBasename = new Map<string, string[]>();
  for (const p of FILES) {
    const base = p.slice(p.lastIndexOf('/') + 1);
    byBasename.set(base, [...(byBasename.get(base) ?? []), p]);
  }
  const defs = new Map<string, string[]>([
    ['QuerySet', ['django/db/models/query.py']],
    ['QuerySet.order_by', ['django/db/models/query.py']],
    ['order_by', ['django/db/models/query.py']],
    ['ModelForm', ['django/forms/models.py']],
  ]);
  return { byBasename, resolver: new ModuleResolver(FILES), defs };
}

describe('mentions', () => {
  it('matches written paths by their longest common suffix', () => {
    expect(matchPath(index(), '/usr/lib/python3/site-packages/django/db/models/query.py')).toEqual([
      'django/db/models/query.py',
    ]);
    expect(matchPath(index(), 'query.py').sort()).toEqual([
      'django/db/models/query.py',
      'django/db/models/sql/query.py',
    ]);
  });

  it('finds paths, traceback frames, modules, packages and symbols in an issue', () => {
    const text = [
      'QuerySet.order_by() crashes, see `django.db.models.query` and matplotlib.axes._base.',
      'from django.db import models',
      'Traceback (most recent call last):',
      '  File "/x/site-packages/django/db/models/sql/query.py", line 12, in add_ordering',
      'Also forms/models.py and ModelForm.',
    ].join('\n');
    const m = findMentions(index(), text);
    expect([...m.paths.keys()]).toEqual(['django/forms/models.py']);
    expect([...m.frames.keys()]).toEqual(['django/db/models/sql/query.py']);
    expect([...m.modules.keys()].sort()).toEqual([
      'django/db/models/query.py',
      'lib/matplotlib/axes/_base.py',
    ]);
    expect([...m.packages.keys()]).toEqual(['django/db/models/__init__.py']);
    expect(m.qualified.get('django/db/models/query.py')).toBeGreaterThan(0);
    expect(m.symbols.get('django/forms/models.py')).toBeGreaterThan(0);
    expect(m.symbolNames.get('add_ordering')).toBe(1);
  });
});
