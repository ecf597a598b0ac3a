import { describe, expect, it } from 'vitest';
import type { PolicyFinding, PolicyReport } from '../types.ts';
import { blockingRules, canOverride, overrideProblem, policyLine, sortFindings } from './policy.ts';

const f = (over: Partial<PolicyFinding>): PolicyFinding => ({
  kind: 'sast',
  ruleId: 'py-eval-exec',
  severity: 'high',
  enforcement: 'block',
  file: 'a.py',
  line: 1,
  message: 'eval of a string',
  remediation: 'do not',
  ...over,
});
const report = (over: Partial<PolicyReport>): PolicyReport => ({
  bundle: 'default-1',
  findings: [],
  counts: {},
  blocked: false,
  dependencies: [],
  notes: [],
  ...over,
});

describe('policy report', () => {
  it('orders findings by severity, block before warn, then place', () => {
    const sorted = sortFindings([
      f({ ruleId: 'low', severity: 'low', enforcement: 'warn' }),
      f({ ruleId: 'hw', enforcement: 'warn', file: 'a.py' }),
      f({ ruleId: 'hb2', file: 'b.py', line: 3 }),
      f({ ruleId: 'hb1', file: 'b.py', line: 2 }),
      f({ ruleId: 'crit', kind: 'secret', severity: 'critical' }),
    ]);
    expect(sorted.map((x) => x.ruleId)).toEqual(['crit', 'hb1', 'hb2', 'hw', 'low']);
  });
  it('says the report in one line', () => {
    expect(policyLine(report({}))).toBe('no findings: nothing blocks');
    const blocked = report({
      findings: [f({}), f({ kind: 'license', enforcement: 'warn' })],
      counts: { sast: 1, license: 1, secret: 0 },
      blocked: true,
    });
    expect(policyLine(blocked)).toBe('2 findings (sast 1, license 1): blocking');
    expect(
      policyLine({ ...blocked, override: { by: 'u', at: 't', reason: 'r', ruleIds: ['py-eval-exec'] } }),
    ).toBe('2 findings (sast 1, license 1): blocking, overridden');
  });
  it('knows the rules an override covers and when it can be given', () => {
    const r = report({
      findings: [f({}), f({ line: 9 }), f({ ruleId: 'w', enforcement: 'warn' })],
      blocked: true,
    });
    expect(blockingRules(r)).toEqual(['py-eval-exec']);
    expect(canOverride(r, true)).toBe(true);
    expect(canOverride(r, false)).toBe(false);
    expect(canOverride({ ...r, override: { by: 'u', at: 't', reason: 'x', ruleIds: [] } }, true)).toBe(false);
    expect(canOverride(report({}), true)).toBe(false);
    expect(canOverride(undefined, true)).toBe(false);
    expect(overrideProblem('  ')).toMatch(/Say why/);
    expect(overrideProblem('internal script only')).toBeUndefined();
  });
});
