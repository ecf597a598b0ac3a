import { describe, expect, it } from 'vitest';
import { treeReader } from '../coder/policy-check.ts';
import { policyPatch } from '../../test/policy-patch.ts';
import { checkPatch, extendDefaultBundle } from './index.ts';
import { headerFits, headerLicense, repoLicense } from './license-headers.ts';

const MIT_TEXT =
  'MIT License\n\nCopyright (c) 2024 Acme\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n';
const GPL_HEADER = `# This program is free software: you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation, either version 3 of the License, or
# (at your option) any later version.
import os
`;

describe('license headers', () => {
  it('reads an SPDX tag or a well-known header text in the first lines', () => {
    expect(headerLicense('// SPDX-License-Identifier: Apache-2.0\nexport {};\n')).toEqual({
      expression: 'Apache-2.0',
      line: 1,
    });
    expect(headerLicense('/* SPDX-License-Identifier: MIT OR Apache-2.0 */\n')?.expression).toBe(
      'MIT OR Apache-2.0',
    );
    expect(headerLicense(GPL_HEADER)).toEqual({ expression: 'GPL-3.0-or-later', line: 2 });
    expect(headerLicense('# Licensed under the Apache License, Version 2.0\n')?.expression).toBe(
      'Apache-2.0',
    );
    expect(headerLicense('import os\n\n\ndef f():\n    pass\n')).toBeUndefined();
    // Not an SPDX expression, and no known text: nothing declared.
    expect(headerLicense('# SPDX-License-Identifier: my own terms\n')).toBeUndefined();
    // Past the header: a license named in line 60 is not a header.
    expect(headerLicense(`${'x = 1\n'.repeat(59)}# SPDX-License-Identifier: GPL-3.0-only\n`)).toBeUndefined();
  });

  it("tells the repository's license from package.json, pyproject.toml or the LICENSE text", async () => {
    const reader = (files: Record<string, string>) => async (p: string) => files[p];
    expect(await repoLicense(reader({ 'package.json': '{"license":"ISC"}' }))).toEqual({
      expression: 'ISC',
      source: 'package.json',
    });
    expect(
      await repoLicense(reader({ 'pyproject.toml': '[project]\nlicense = {text = "BSD-3-Clause"}\n' })),
    ).toMatchObject({ expression: 'BSD-3-Clause' });
    expect(await repoLicense(reader({ LICENSE: MIT_TEXT }))).toEqual({
      expression: 'MIT',
      source: 'LICENSE',
    });
    expect(
      await repoLicense(reader({ COPYING: 'GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n' })),
    ).toMatchObject({ expression: 'GPL-2.0-only' });
    expect(await repoLicense(reader({ 'README.md': '# x' }))).toBeUndefined();
  });

  it('a header fits when the repository license alone meets it', () => {
    expect(headerFits('MIT', 'MIT')).toBe(true);
    expect(headerFits('MIT OR Apache-2.0', 'MIT')).toBe(true);
    expect(headerFits('GPL-2.0-or-later', 'GPL-3.0-only')).toBe(true);
    expect(headerFits('GPL-3.0-or-later', 'MIT')).toBe(false);
    expect(headerFits('MIT', 'Apache-2.0')).toBe(false);
    expect(headerFits('MIT', 'MIT AND BSD-3-Clause')).toBe(false);
  });
});

describe('checkPatch: license headers of new files', () => {
  const base = { LICENSE: MIT_TEXT, 'app/__init__.py': '' };

  it('a new GPL file in an MIT repository is a license-header warning naming both licenses', async () => {
    const p = policyPatch(base, { 'app/vendored.py': GPL_HEADER });
    const report = await checkPatch({ diff: p.diff, read: p.read, readBase: treeReader(p.dir, p.commit) });
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: 'license',
        ruleId: 'license-header',
        enforcement: 'warn',
        file: 'app/vendored.py',
        line: 2,
        message: expect.stringContaining('GPL-3.0-or-later; the repository is MIT (LICENSE)'),
        remediation: expect.stringContaining("repository's license (MIT)"),
      }),
    ]);
    expect(report.blocked).toBe(false);
    expect(report.counts.license).toBe(1);
  });

  it('a header license the bundle denies blocks; a fitting header, or an edited file, is no finding', async () => {
    const noGpl = extendDefaultBundle([
      { text: 'version: "2"\nlicenses:\n  deny: [GPL-3.0-or-later, GPL-3.0-only]\n', source: 'org:acme' },
    ]);
    const p = policyPatch(base, { 'app/vendored.py': GPL_HEADER });
    const denied = await checkPatch({
      diff: p.diff,
      read: p.read,
      readBase: treeReader(p.dir, p.commit),
      bundle: noGpl,
    });
    expect(denied.blocked).toBe(true);
    expect(denied.findings[0]).toMatchObject({ ruleId: 'license-denied', file: 'app/vendored.py' });

    const mit = policyPatch(base, { 'app/new.py': '# SPDX-License-Identifier: MIT\nx = 1\n' });
    expect(
      (await checkPatch({ diff: mit.diff, read: mit.read, readBase: treeReader(mit.dir, mit.commit) }))
        .findings,
    ).toEqual([]);

    // An existing file that gains a GPL header is not a new file: not this check's business.
    const edited = policyPatch(base, { 'app/__init__.py': GPL_HEADER });
    expect(
      (
        await checkPatch({
          diff: edited.diff,
          read: edited.read,
          readBase: treeReader(edited.dir, edited.commit),
        })
      ).findings,
    ).toEqual([]);
  });

  it("without the repository's license, only the bundle's lists apply (and a note says so)", async () => {
    const p = policyPatch({ 'a.py': '' }, { 'b.py': GPL_HEADER });
    const report = await checkPatch({ diff: p.diff, read: p.read, readBase: treeReader(p.dir, p.commit) });
    expect(report.findings).toEqual([]);
    expect(report.notes.join('\n')).toContain("the repository's license could not be told");
  });
});
