// Manifest parsing and the dependency graph between a campaign's repositories.
import { describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/temp-repo.ts';
import { DependencyCycleError, dependencyGraph, readManifest } from './manifests.ts';

describe('readManifest', () => {
  it('reads npm, Python (pyproject, requirements) and Go manifests at HEAD', async () => {
    const { dir } = makeRepo({
      'package.json': JSON.stringify({
        name: '@acme/web',
        version: '3.2.1',
        dependencies: { '@acme/core': '^1' },
        devDependencies: { vitest: '4' },
      }),
      'pyproject.toml': [
        '[project]',
        'name = "Acme_Tools"',
        'version = "0.4.0"',
        'dependencies = [',
        '  "acme-core>=1.0",',
        '  "Requests[socks] ; python_version>\'3\'",',
        ']',
        '[project.optional-dependencies]',
        'test = ["pytest"]',
        '[tool.poetry.dependencies]',
        'python = "^3.10"',
        'httpx = "*"',
      ].join('\n'),
      'requirements.txt': '# pinned\nnumpy==1.26 # math\n-r other.txt\n',
      'go.mod':
        'module example.com/acme/svc\n\ngo 1.22\n\nrequire (\n\texample.com/acme/lib v1.2.0 // indirect\n)\nrequire golang.org/x/text v0.14.0\n',
    });
    const m = await readManifest(dir);
    expect(m.provides.sort()).toEqual(['go:example.com/acme/svc', 'npm:@acme/web', 'py:acme-tools']);
    expect(m.requires.sort()).toEqual([
      'go:example.com/acme/lib',
      'go:golang.org/x/text',
      'npm:@acme/core',
      'npm:vitest',
      'py:acme-core',
      'py:httpx',
      'py:numpy',
      'py:pytest',
      'py:requests',
    ]);
    expect(m.versions).toEqual({ 'npm:@acme/web': '3.2.1', 'py:acme-tools': '0.4.0' });
  });

  it('reads committed manifests only (the work tree is not read), and a broken one is skipped', async () => {
    const { dir } = makeRepo({ 'package.json': '{ not json', 'README.md': 'hi' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/go.mod`, 'module uncommitted/mod\n');
    expect(await readManifest(dir)).toEqual({ provides: [], requires: [], versions: {} });
  });
});

describe('dependencyGraph', () => {
  it('a repository whose package another depends on is upstream of it; ecosystems do not mix', () => {
    const g = dependencyGraph([
      { id: 'core', provides: ['npm:core'], requires: ['npm:left-pad'] },
      { id: 'a', provides: ['npm:a'], requires: ['npm:core'] },
      { id: 'b', provides: ['npm:b'], requires: ['npm:core', 'npm:a'] },
      { id: 'py', provides: ['py:core'], requires: [] },
      { id: 'c', provides: [], requires: ['py:core'] },
    ]);
    expect(Object.fromEntries(g)).toEqual({ core: [], a: ['core'], b: ['a', 'core'], py: [], c: ['py'] });
  });

  it('refuses a cycle, naming the repositories on it', () => {
    expect(() =>
      dependencyGraph([
        { id: 'x', provides: ['npm:x'], requires: ['npm:y'] },
        { id: 'y', provides: ['npm:y'], requires: ['npm:x'] },
        { id: 'z', provides: ['npm:z'], requires: [] },
      ]),
    ).toThrow(DependencyCycleError);
    try {
      dependencyGraph([
        { id: 'x', provides: ['npm:x'], requires: ['npm:y'] },
        { id: 'y', provides: ['npm:y'], requires: ['npm:x'] },
      ]);
    } catch (err) {
      expect((err as DependencyCycleError).repoIds).toEqual(['x', 'y']);
    }
  });
});
