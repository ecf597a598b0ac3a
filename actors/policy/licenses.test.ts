import { describe, expect, it } from 'vitest';
import { policyPatch } from '../../test/policy-patch.ts';
import { checkLicense, checkPatch, extendDefaultBundle } from './index.ts';
import { pythonMetadataLicense } from './licenses.ts';
import { worktreeLister } from '../coder/policy-check.ts';
import { dependencyChanges } from './deps.ts';
import { changedFiles } from './diff-files.ts';

const pkgJson = (deps: Record<string, string>) =>
  `${JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }, null, 2)}\n`;
const lock = (pkgs: Record<string, { version: string; license?: string }>) =>
  `${JSON.stringify(
    {
      name: 'app',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app' },
        ...Object.fromEntries(Object.entries(pkgs).map(([n, p]) => [`node_modules/${n}`, p])),
      },
    },
    null,
    2,
  )}\n`;

/** The default bundle with an org layer that allows only permissive licenses. */
const permissiveOnly = extendDefaultBundle([
  {
    text: 'version: "1"\nlicenses:\n  allow: [MIT, ISC, BSD-2-Clause, BSD-3-Clause, Apache-2.0]\n',
    source: 'org:acme',
  },
]);

describe('dependency changes', () => {
  it('reads the entries on added lines of each manifest, with lockfile versions and licenses', async () => {
    const p = policyPatch(
      {
        'package.json': pkgJson({ lodash: '^4.17.0' }),
        'package-lock.json': lock({ lodash: { version: '4.17.20', license: 'MIT' } }),
        'requirements.txt': 'flask==2.0.0\n',
        'pyproject.toml': '[project]\nname = "x"\ndependencies = [\n  "attrs>=21",\n]\n',
        'go.mod': 'module example.com/x\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.0\n)\n',
      },
      {
        'package.json': pkgJson({ lodash: '^4.17.0', 'left-pad': '1.3.0', gplthing: '^2.0.0' }),
        'package-lock.json': lock({
          lodash: { version: '4.17.20', license: 'MIT' },
          'left-pad': { version: '1.3.0', license: 'WTFPL' },
          gplthing: { version: '2.1.0', license: 'GPL-3.0-only' },
          'dep-of-gpl': { version: '0.1.0', license: 'MIT' },
        }),
        'requirements.txt': 'flask==2.0.0\nRequests_OAuthlib==1.3.1  # auth\nurllib3>=1.26\n',
        'pyproject.toml':
          '[project]\nname = "x"\ndependencies = [\n  "attrs>=21",\n  "PyYAML==5.3.1", "jinja2[i18n]~=3.1",\n]\n[tool.poetry.dependencies]\npython = "^3.10"\nrich = "13.7.0"\n',
        'go.mod':
          'module example.com/x\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.0\n\tgolang.org/x/net v0.7.0\n)\n\nrequire github.com/pkg/errors v0.9.1\n',
      },
    );
    const deps = await dependencyChanges(changedFiles(p.diff), p.read);
    expect(deps.map((d) => [d.ecosystem, d.name, d.version ?? d.spec, d.file])).toEqual([
      ['Go', 'golang.org/x/net', 'v0.7.0', 'go.mod'],
      ['Go', 'github.com/pkg/errors', 'v0.9.1', 'go.mod'],
      ['npm', 'left-pad', '1.3.0', 'package.json'],
      ['npm', 'gplthing', '2.1.0', 'package.json'],
      ['PyPI', 'pyyaml', '5.3.1', 'pyproject.toml'],
      ['PyPI', 'jinja2', '~=3.1', 'pyproject.toml'],
      ['PyPI', 'rich', '13.7.0', 'pyproject.toml'],
      ['PyPI', 'requests-oauthlib', '1.3.1', 'requirements.txt'],
      ['PyPI', 'urllib3', '>=1.26', 'requirements.txt'],
      ['npm', 'dep-of-gpl', '0.1.0', 'package-lock.json'],
    ]);
    expect(deps.find((d) => d.name === 'gplthing')).toMatchObject({ lockLicense: 'GPL-3.0-only', line: 7 });
  });
});

describe('license check', () => {
  it('checks SPDX expressions against allow and deny lists', () => {
    const policy = { allow: ['MIT', 'Apache-2.0'], deny: ['GPL-3.0-only'], map: {} };
    expect(checkLicense('MIT', policy)).toBeUndefined();
    expect(checkLicense('MIT OR GPL-3.0-only', policy)).toBeUndefined();
    expect(checkLicense('MIT AND GPL-3.0-only', policy)?.ruleId).toBe('license-denied');
    expect(checkLicense('GPL-3.0-only', { deny: [], map: {}, allow: ['MIT'] })?.ruleId).toBe(
      'license-not-allowed',
    );
    expect(checkLicense('GPL-3.0-or-later', { deny: ['GPL-3.0+'], map: {} })?.ruleId).toBe('license-denied');
    expect(checkLicense('BSD-2-Clause', { deny: ['GPL-3.0-only'], map: {} })).toBeUndefined();
    expect(checkLicense('SEE LICENSE IN LICENSE.txt', policy)?.ruleId).toBe('license-unknown');
    expect(checkLicense(undefined, policy)?.ruleId).toBe('license-unknown');
  });

  it('blocks a patch adding a GPL-3.0 dependency under an allowlist without GPL, with the remediation', async () => {
    const p = policyPatch(
      { 'package.json': pkgJson({}), 'package-lock.json': lock({}) },
      {
        'package.json': pkgJson({ gplthing: '2.1.0', tiny: '1.0.0' }),
        'package-lock.json': lock({
          gplthing: { version: '2.1.0', license: 'GPL-3.0-only' },
          tiny: { version: '1.0.0', license: 'MIT' },
        }),
      },
    );
    const report = await checkPatch({ diff: p.diff, read: p.read, bundle: permissiveOnly });
    expect(report.blocked).toBe(true);
    expect(report.counts.license).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: 'license',
        ruleId: 'license-not-allowed',
        enforcement: 'block',
        file: 'package.json',
        line: 5,
        package: { ecosystem: 'npm', name: 'gplthing', version: '2.1.0' },
        remediation: expect.stringContaining('allowed licenses'),
      }),
    ]);
    expect(report.findings[0]!.message).toContain('GPL-3.0-only');
    expect(report.dependencies.map((d) => [d.name, d.license, d.licenseSource])).toEqual([
      ['gplthing', 'GPL-3.0-only', 'lockfile'],
      ['tiny', 'MIT', 'lockfile'],
    ]);
    // The default bundle has no allowlist and does not deny GPL-3.0: the same patch passes.
    expect((await checkPatch({ diff: p.diff, read: p.read })).blocked).toBe(false);
  });

  it('resolves from the offline map first, then the installed package; unknown licenses warn', async () => {
    const bundle = extendDefaultBundle([
      { text: 'version: "2"\nlicenses:\n  map:\n    "PyPI:agplpkg": AGPL-3.0-only\n', source: 'repo' },
    ]);
    const p = policyPatch(
      { 'requirements.txt': '', 'package.json': pkgJson({}) },
      {
        'requirements.txt': 'agplpkg==1.0\nmystery==2.0\n',
        'package.json': pkgJson({ local: '1.0.0' }),
        'node_modules/local/package.json': JSON.stringify({ name: 'local', license: 'ISC' }),
      },
    );
    const report = await checkPatch({ diff: p.diff, read: p.read, bundle });
    expect(report.findings.map((f) => [f.ruleId, f.enforcement, f.package?.name])).toEqual([
      ['license-denied', 'block', 'agplpkg'],
      ['license-unknown', 'warn', 'mystery'],
    ]);
    expect(report.blocked).toBe(true);
    expect(report.dependencies.find((d) => d.name === 'local')).toMatchObject({
      license: 'ISC',
      licenseSource: 'installed',
    });
    expect(report.dependencies.find((d) => d.name === 'agplpkg')).toMatchObject({ licenseSource: 'map' });
  });

  it("reads a Python dependency's license from the repository's venv (METADATA: expression, field, classifiers)", async () => {
    const meta = (headers: string) =>
      `Metadata-Version: 2.1\nName: x\n${headers}\n\nLicense: not a header, the body\n`;
    expect(pythonMetadataLicense(meta('License-Expression: MIT OR Apache-2.0\nLicense: GPL'))).toBe(
      'MIT OR Apache-2.0',
    );
    expect(pythonMetadataLicense(meta('License: BSD-3-Clause'))).toBe('BSD-3-Clause');
    expect(
      pythonMetadataLicense(
        meta(
          'License: Free to use\nClassifier: Programming Language :: Python\nClassifier: License :: OSI Approved :: GNU Affero General Public License v3',
        ),
      ),
    ).toBe('AGPL-3.0-only');
    expect(pythonMetadataLicense(meta('Classifier: License :: OSI Approved :: BSD License'))).toBeUndefined();
    expect(pythonMetadataLicense('Name: x\n\nLicense: MIT\n')).toBeUndefined();

    const site = '.venv/lib/python3.11/site-packages';
    const p = policyPatch(
      {
        'requirements.txt': '',
        '.venv/pyvenv.cfg': 'home = /usr/bin\nversion = 3.11.2\n',
        [`${site}/Strict_Pkg-2.0.dist-info/METADATA`]: meta(
          'Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)',
        ),
        [`${site}/okpkg-1.0.dist-info/METADATA`]: meta('License-Expression: MIT'),
      },
      { 'requirements.txt': 'Strict-Pkg==2.0\nokpkg==1.0\nokpkg-missing==3.0\n' },
    );
    const report = await checkPatch({
      diff: p.diff,
      read: p.read,
      bundle: permissiveOnly,
      listInstalled: worktreeLister(p.dir),
    });
    const byName = (n: string) => report.dependencies.find((d) => d.name.toLowerCase() === n);
    expect(byName('strict-pkg')).toMatchObject({ license: 'GPL-3.0-only', licenseSource: 'installed' });
    expect(byName('okpkg')).toMatchObject({ license: 'MIT', licenseSource: 'installed' });
    expect(report.findings.map((f) => [f.ruleId, f.package?.name])).toEqual([
      ['license-not-allowed', expect.stringMatching(/strict-pkg/i)],
      ['license-unknown', 'okpkg-missing'],
    ]);
    // Without a listing, the usual spellings are tried: the lower-case one is found, the project's own is not.
    const unlisted = await checkPatch({ diff: p.diff, read: p.read, bundle: permissiveOnly });
    expect(unlisted.dependencies.find((d) => d.name === 'okpkg')).toMatchObject({ license: 'MIT' });
    expect(unlisted.dependencies.find((d) => d.name === 'strict-pkg')?.license).toBeUndefined();
  });
});
