import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFiles, makeRepo } from '../../test/temp-repo.ts';
import {
  defaultPolicyBundle,
  extendDefaultBundle,
  loadPolicyBundle,
  orgPolicyPath,
  PolicyBundleError,
} from './index.ts';

describe('policy bundles', () => {
  it('ships a default bundle where every rule has id, severity, enforcement and remediation', () => {
    expect(defaultPolicyBundle.version).toBe('default-1');
    const ids = defaultPolicyBundle.rules.map((r) => r.id);
    expect(ids).toEqual(
      expect.arrayContaining(['secret', 'vulnerability', 'license-denied', 'py-subprocess-shell']),
    );
    for (const r of defaultPolicyBundle.rules) {
      expect(r.remediation.length).toBeGreaterThan(10);
      if (r.kind === 'sast') expect(r.cwe).toMatch(/^CWE-/);
    }
  });

  it('layers org then repository: fields overlay, denials add up, allowlists only narrow', () => {
    const b = extendDefaultBundle([
      {
        text: 'version: "3"\nlicenses:\n  allow: [MIT, Apache-2.0, GPL-3.0-only]\n  deny: [GPL-2.0-only]\nrules:\n  - id: py-pickle-loads\n    enforcement: block\n',
        source: 'org:acme',
      },
      {
        text: 'version: "7"\nlicenses:\n  allow: [MIT, GPL-3.0-only, ISC]\nrules:\n  - id: py-pickle-loads\n    severity: critical\n',
        source: 'repo',
      },
    ]);
    expect(b.version).toBe('default-1 < org:acme@3 < repo@7');
    expect(b.licenses.allow).toEqual(['MIT', 'GPL-3.0-only']);
    expect(b.licenses.deny).toContain('GPL-2.0-only');
    expect(b.licenses.deny).toContain('AGPL-3.0-only');
    expect(b.rules.find((r) => r.id === 'py-pickle-loads')).toMatchObject({
      enforcement: 'block',
      severity: 'critical',
      cwe: 'CWE-502',
      enabled: true,
    });
  });

  it('refuses bad bundles, naming the layer and the field', () => {
    const bad = (text: string) => {
      try {
        extendDefaultBundle([{ text, source: 'repo' }]);
        return '';
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyBundleError);
        return (e as Error).message;
      }
    };
    expect(bad('version: "1"\nrules:\n  - id: py-eval-exec\n    enforcement: maybe\n')).toContain(
      'repo: rules.0.enforcement',
    );
    expect(bad('version: "1"\nrules:\n  - id: new-rule\n    severity: low\n')).toContain(
      'a new rule needs kind',
    );
    expect(
      bad(
        'version: "1"\nrules:\n  - {id: my-sast, kind: sast, severity: low, enforcement: warn, remediation: x}\n',
      ),
    ).toContain('no SAST query has this id');
    expect(bad('version: "1"\nrules:\n  - id: secret\n    enforcement: warn\n')).toContain(
      'secrets are always blocked',
    );
    expect(bad('version: "1"\nlicences: {}\n')).toContain('repo: (top)');
    expect(bad('version: [\n')).toContain('not valid YAML');
  });

  it('loads the org file from the state dir and the repository file from the base commit only', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'codemesh-policy-'));
    const org = orgPolicyPath(dataDir, 'acme');
    mkdirSync(dirname(org), { recursive: true });
    writeFileSync(org, 'version: "2"\nrules:\n  - id: js-eval\n    enforcement: warn\n');
    const { dir, commit } = makeRepo({
      '.codemesh/policy.yml': 'version: "5"\nlicenses:\n  deny: [MPL-2.0]\n',
    });
    // A later commit (what a patch would be) does not change the bundle of a task based on `commit`.
    commitFiles(dir, { '.codemesh/policy.yml': 'version: "6"\nlicenses:\n  deny: []\n' });
    const b = await loadPolicyBundle({ dataDir, orgId: 'acme', repoPath: dir, baseCommit: commit });
    expect(b.version).toBe('default-1 < org:acme@2 < repo:.codemesh/policy.yml@5');
    expect(b.licenses.deny).toContain('MPL-2.0');
    expect(b.rules.find((r) => r.id === 'js-eval')?.enforcement).toBe('warn');
    const plain = await loadPolicyBundle({ dataDir, orgId: 'other', repoPath: dir, baseCommit: commit });
    expect(plain.version).toBe('default-1 < repo:.codemesh/policy.yml@5');
  });
});
