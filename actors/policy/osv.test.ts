import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cmdPolicy } from '../../cli/policy.ts';
import { CODEMESH_ROOT } from '../../test/fixture-repo.ts';
import { policyPatch } from '../../test/policy-patch.ts';
import { advisoriesFor, checkPatch, compareVersions, loadOsv } from './index.ts';

/** A small OSV bundle: one PyPI advisory with a fixed version, one npm advisory listed by versions only. */
const BUNDLE = [
  {
    id: 'GHSA-test-pyyaml',
    summary: 'arbitrary code execution in full_load',
    aliases: ['CVE-2020-14343'],
    affected: [
      {
        package: { ecosystem: 'PyPI', name: 'PyYAML' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.4' }] }],
      },
    ],
    database_specific: { severity: 'CRITICAL' },
  },
  {
    id: 'GHSA-test-lodash',
    summary: 'prototype pollution',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash' },
        ranges: [
          { type: 'SEMVER', events: [{ introduced: '4.0.0' }, { fixed: '4.17.21' }] },
          { type: 'SEMVER', events: [{ introduced: '3.0.0' }, { last_affected: '3.10.1' }] },
        ],
        versions: ['2.4.2'],
      },
    ],
    database_specific: { severity: 'HIGH' },
  },
];

describe('compareVersions', () => {
  it('orders semver, PEP 440 and Go versions', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('v0.7.0', '0.7.0')).toBe(0);
    expect(compareVersions('5.4', '5.3.1')).toBe(1);
    expect(compareVersions('5.4', '5.4.0')).toBe(0);
    expect(compareVersions('2.0.0-rc.1', '2.0.0')).toBe(-1);
    expect(compareVersions('1.0a1', '1.0')).toBe(-1);
    expect(compareVersions('1.0.post1', '1.0')).toBe(1);
  });
});

describe('advisoriesFor', () => {
  it('matches introduced/fixed and last_affected ranges and listed versions; names the fixed version', () => {
    const recs = BUNDLE as Parameters<typeof advisoriesFor>[1];
    const ids = (ecosystem: 'npm' | 'PyPI', name: string, version?: string) =>
      advisoriesFor({ ecosystem, name, version }, recs).map((a) => [a.id, a.fixed, a.severity]);
    expect(ids('npm', 'lodash', '4.17.20')).toEqual([['GHSA-test-lodash', '4.17.21', 'high']]);
    expect(ids('npm', 'lodash', '4.17.21')).toEqual([]);
    expect(ids('npm', 'lodash', '3.10.1')).toEqual([['GHSA-test-lodash', undefined, 'high']]);
    expect(ids('npm', 'lodash', '3.10.2')).toEqual([]);
    expect(ids('npm', 'lodash', '2.4.2')).toEqual([['GHSA-test-lodash', undefined, 'high']]);
    expect(ids('PyPI', 'pyyaml', '5.3.1')).toEqual([['GHSA-test-pyyaml', '5.4', 'critical']]);
    expect(ids('PyPI', 'py-yaml', '5.3.1')).toEqual([]);
    expect(ids('PyPI', 'pyyaml', undefined)).toEqual([]);
  });
});

describe('vulnerability check', () => {
  it('imports a bundle with `codemesh policy update` and blocks an added vulnerable version, naming the fix', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-osv-'));
    const file = join(home, 'osv.json');
    writeFileSync(file, JSON.stringify(BUNDLE));
    const out: string[] = [];
    const code = await cmdPolicy(
      ['update', '--bundle', file],
      { write: (t) => out.push(t) },
      {
        CODEMESH_HOME: join(home, 'state'),
      },
    );
    expect(code).toBe(0);
    expect(out.join('')).toContain('imported 2 OSV record(s)');
    const osv = await loadOsv(join(home, 'state'));
    expect(osv?.map((r) => r.id)).toEqual(['GHSA-test-pyyaml', 'GHSA-test-lodash']);

    const p = policyPatch(
      { 'requirements.txt': 'flask==2.0.0\n' },
      { 'requirements.txt': 'flask==2.0.0\nPyYAML==5.3.1\nrequests==2.31.0\n' },
    );
    const report = await checkPatch({ diff: p.diff, read: p.read, osv });
    expect(report.blocked).toBe(true);
    expect(report.counts).toEqual({ secret: 0, sast: 0, license: 2, vulnerability: 1 });
    const vuln = report.findings.find((f) => f.kind === 'vulnerability');
    expect(vuln).toMatchObject({
      ruleId: 'vulnerability',
      severity: 'critical',
      enforcement: 'block',
      file: 'requirements.txt',
      line: 2,
      advisory: 'GHSA-test-pyyaml',
      fixed: '5.4',
      package: { ecosystem: 'PyPI', name: 'pyyaml', version: '5.3.1' },
      remediation: 'Upgrade pyyaml to 5.4 or later (fixes GHSA-test-pyyaml).',
    });
    // The fixed version passes; without imported data the report says the check did not run.
    const fixed = policyPatch({ 'requirements.txt': '' }, { 'requirements.txt': 'PyYAML==5.4\n' });
    expect((await checkPatch({ diff: fixed.diff, read: fixed.read, osv })).counts.vulnerability).toBe(0);
    const none = await checkPatch({ diff: p.diff, read: p.read });
    expect(none.counts.vulnerability).toBe(0);
    expect(none.notes.join(' ')).toContain('no OSV data imported');
  });

  it('the CLI refuses a bad bundle with exit 2, naming the record', () => {
    const home = mkdtempSync(join(tmpdir(), 'codemesh-osv-'));
    const file = join(home, 'bad.json');
    writeFileSync(file, JSON.stringify([{ summary: 'no id' }]));
    let status = 0;
    let stdout = '';
    try {
      execFileSync(
        process.execPath,
        [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'policy', 'update', '--bundle', file],
        {
          encoding: 'utf8',
          env: { ...process.env, CODEMESH_HOME: join(home, 'state') },
        },
      );
    } catch (err) {
      const e = err as { status: number; stdout: string };
      status = e.status;
      stdout = e.stdout;
    }
    expect(status).toBe(2);
    expect(stdout).toContain('record 0: id');
  });
});
