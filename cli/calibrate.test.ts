// `codemesh calibrate` on eval rows: held-out Brier scores, the weights written where the Reviewer reads them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadCalibration } from '../actors/reviewer/confidence.ts';
import type { ConfidenceFeatures } from '../schemas/index.ts';
import { cmdCalibrate } from './calibrate.ts';
import { UsageError } from './errors.ts';

const features = (fixed: number, regressions: number): ConfidenceFeatures => ({
  raw: 0.9,
  approve: true,
  outcome: regressions ? 'regression' : 'pass',
  fixed,
  regressions,
  reproduction: 'none',
  addedCovered: null,
  files: 1,
  lines: 4,
  retrievalMargin: null,
  policyBlock: 0,
  policyWarn: 0,
  memoryIntegrated: 0,
  memoryFailed: 0,
});

it('fits on eval rows, beats the constant raw confidence on the held-out part, and writes the weights', async () => {
  const home = mkdtempSync(join(tmpdir(), 'codemesh-calib-'));
  const rows = join(home, 'rows.jsonl');
  // Resolved exactly when a test went from failing to passing; the Reviewer says 0.9 every time.
  const lines = Array.from({ length: 120 }, (_, i) => {
    const fixed = i % 3 === 0 ? 0 : 1;
    const f = features(fixed, 0);
    return JSON.stringify({
      instance_id: `i${i}`,
      resolved: fixed === 1,
      confidence: { raw: 0.9, calibrated: 0.5, model: 'm', features: f },
    });
  });
  writeFileSync(rows, `${lines.join('\n')}\n{"instance_id":"old","resolved":true}\n`);
  const out: string[] = [];
  const env = { CODEMESH_HOME: home };
  const code = await cmdCalibrate(
    ['--rows', rows, '--no-record', '--write', '--json'],
    { write: (t) => out.push(t) },
    env,
  );
  expect(code).toBe(0);
  const r = JSON.parse(out[0]!) as {
    n: number;
    good: number;
    holdout: { test: number; raw: { brier: number }; fitted: { brier: number } };
    written: string;
  };
  expect(r).toMatchObject({ n: 120, good: 80 });
  expect(r.holdout.test).toBeGreaterThan(20);
  expect(r.holdout.fitted.brier).toBeLessThan(r.holdout.raw.brier);
  expect(r.holdout.fitted.brier).toBeLessThan(0.05);
  const w = loadCalibration(home);
  expect(w.version).toMatch(/^fitted-/);
  expect(JSON.parse(readFileSync(r.written, 'utf8'))).toEqual(w);
});

it('says so when nothing is labelled, and names a malformed row', async () => {
  const home = mkdtempSync(join(tmpdir(), 'codemesh-calib-'));
  const rows = join(home, 'rows.jsonl');
  writeFileSync(rows, '{"instance_id":"a","resolved":true}\n');
  const out: string[] = [];
  const env = { CODEMESH_HOME: home };
  expect(await cmdCalibrate(['--rows', rows, '--no-record'], { write: (t) => out.push(t) }, env)).toBe(2);
  expect(out.join('')).toMatch(/no labelled patches/);
  writeFileSync(rows, '{"instance_id":"a","resolved":true,"confidence":{"raw":2}}\n');
  await expect(cmdCalibrate(['--rows', rows, '--no-record'], { write: () => 0 }, env)).rejects.toThrow(
    /rows.jsonl:1: confidence or resolved/,
  );
  await expect(
    cmdCalibrate(['--rows', join(home, 'nope'), '--no-record'], { write: () => 0 }, env),
  ).rejects.toThrow(UsageError);
});
