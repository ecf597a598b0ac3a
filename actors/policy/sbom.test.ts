import { describe, expect, it } from 'vitest';
import { CycloneDxBom, PolicyReport } from '../../schemas/index.ts';
import { policyPatch } from '../../test/policy-patch.ts';
import { checkPatch, purlOf } from './index.ts';

describe('CycloneDX SBOM of the dependency changes', () => {
  it('lists each added dependency with its purl, version and license; same patch, same document', async () => {
    const lock = {
      name: 'app',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app' },
        'node_modules/@scope/pkg': { version: '1.2.3', license: 'MIT' },
      },
    };
    const p = policyPatch(
      { 'requirements.txt': '' },
      {
        'requirements.txt': 'PyYAML==6.0.1\n',
        'package.json': `${JSON.stringify({ name: 'app', dependencies: { '@scope/pkg': '^1.2.0' } }, null, 2)}\n`,
        'package-lock.json': `${JSON.stringify(lock, null, 2)}\n`,
        'go.mod': 'module example.com/x\n\nrequire golang.org/x/net v0.7.0\n',
      },
    );
    const report = await checkPatch({ diff: p.diff, read: p.read });
    expect(PolicyReport.parse(report)).toEqual(report);
    const bom = CycloneDxBom.parse(report.sbom);
    expect(bom.components.map((c) => [c.purl, c.licenses?.[0]?.expression])).toEqual([
      ['pkg:golang/golang.org/x/net@v0.7.0', undefined],
      ['pkg:npm/%40scope/pkg@1.2.3', 'MIT'],
      ['pkg:pypi/pyyaml@6.0.1', undefined],
    ]);
    expect(bom.components[1]!.properties).toEqual([
      { name: 'codemesh:manifest', value: 'package.json:4' },
      { name: 'codemesh:spec', value: '^1.2.0' },
    ]);
    expect((await checkPatch({ diff: p.diff, read: p.read })).sbom?.serialNumber).toBe(bom.serialNumber);
    const none = policyPatch({ 'a.py': 'x = 1\n' }, { 'a.py': 'x = 2\n' });
    expect((await checkPatch({ diff: none.diff, read: none.read })).sbom).toBeUndefined();
  });

  it('writes package URLs per ecosystem', () => {
    expect(purlOf({ ecosystem: 'npm', name: 'left-pad', version: '1.3.0' })).toBe('pkg:npm/left-pad@1.3.0');
    expect(purlOf({ ecosystem: 'PyPI', name: 'requests' })).toBe('pkg:pypi/requests');
  });
});

describe('report size', () => {
  it('a regenerated lockfile is checked whole but listed up to a bound, with a note', async () => {
    const pkgs = Object.fromEntries(
      Array.from({ length: 320 }, (_, i) => [`node_modules/p${i}`, { version: '1.0.0', license: 'MIT' }]),
    );
    const lock = (p: object) =>
      `${JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' }, ...p } }, null, 2)}\n`;
    const p = policyPatch({ 'package-lock.json': lock({}) }, { 'package-lock.json': lock(pkgs) });
    const report = await checkPatch({ diff: p.diff, read: p.read });
    expect(report.dependencies).toHaveLength(300);
    expect(report.sbom?.components).toHaveLength(300);
    expect(report.notes).toContain(
      '320 dependency changes: the first 300 are listed and in the SBOM (all were checked)',
    );
  });
});
