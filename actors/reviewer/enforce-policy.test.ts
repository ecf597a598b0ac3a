import { describe, expect, it } from 'vitest';
import type { ReviewVerdict } from '../../schemas/index.ts';
import { policyPatch } from '../../test/policy-patch.ts';
import { checkPatch, extendDefaultBundle } from '../policy/index.ts';
import { enforcePolicy, policyBlocks } from './machine.ts';

const approve: ReviewVerdict = { decision: 'approve', confidence: 0.9, critique: 'Fine.', risks: [] };

async function reportFor(after: string, bundleYaml?: string) {
  const p = policyPatch({ 'app.py': 'import subprocess\n' }, { 'app.py': `import subprocess\n${after}` });
  const bundle = bundleYaml ? extendDefaultBundle([{ text: bundleYaml, source: 'repo' }]) : undefined;
  return checkPatch({ diff: p.diff, read: p.read, ...(bundle && { bundle }) });
}

describe('enforcePolicy', () => {
  it('refuses a patch with shell=True, the remediation and CWE in the critique', async () => {
    const policy = await reportFor('subprocess.run(cmd, shell=True)\n');
    expect(policyBlocks({ policy })).toBe(true);
    const v = enforcePolicy(approve, { policy });
    expect(v.decision).toBe('revise');
    expect(v.confidence).toBe(0);
    expect(v.critique).toContain('py-subprocess-shell (CWE-78) at app.py:2');
    expect(v.critique).toContain('without shell=True');
    expect(v.critique).toContain('Fine.');
    expect(v.risks.at(-1)).toMatchObject({ level: 'high' });
  });

  it('a warn rule becomes a risk and leaves the decision to the review', async () => {
    const policy = await reportFor(
      'subprocess.run(cmd, shell=True)\n',
      'version: "1"\nrules:\n  - id: py-subprocess-shell\n    enforcement: warn\n',
    );
    expect(policy.bundle).toBe('default-1 < repo@1');
    expect(policyBlocks({ policy })).toBe(false);
    const v = enforcePolicy(approve, { policy });
    expect(v.decision).toBe('approve');
    expect(v.risks).toEqual([
      { level: 'high', note: expect.stringContaining('policy py-subprocess-shell at app.py:2') },
    ]);
  });

  it('leaves the safe form, a disabled rule and an overridden report alone', async () => {
    const safe = await reportFor('subprocess.run([cmd])\n');
    expect(safe.findings).toEqual([]);
    expect(enforcePolicy(approve, { policy: safe })).toEqual(approve);
    const off = await reportFor(
      'subprocess.run(cmd, shell=True)\n',
      'version: "1"\nrules:\n  - id: py-subprocess-shell\n    enforced: false\n',
    ).catch((e: Error) => e);
    expect(off).toBeInstanceOf(Error);
    const disabled = await reportFor(
      'subprocess.run(cmd, shell=True)\n',
      'version: "1"\nrules:\n  - id: py-subprocess-shell\n    enabled: false\n',
    );
    expect(disabled.findings).toEqual([]);
    const blocked = await reportFor('subprocess.run(cmd, shell=True)\n');
    const overridden = { ...blocked, override: { by: 'u1', at: 'now', reason: 'reviewed', ruleIds: ['x'] } };
    expect(enforcePolicy(approve, { policy: overridden })).toEqual(approve);
    expect(enforcePolicy(approve, {})).toEqual(approve);
  });
});
