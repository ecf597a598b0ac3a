// `codemesh calibrate`: refits the confidence model on labelled outcomes — the record's reviewed patches with a
// human decision (approved, changes requested, rolled back) and `eval swe` rows (resolved or not) — scores it on a
// held-out part against the Reviewer's own confidence, and with --write installs it in the state dir.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isNotNull } from 'drizzle-orm';
import { type LabelledExample, refit } from '../actors/reviewer/calibration.ts';
import { calibrationPath, loadCalibration } from '../actors/reviewer/confidence.ts';
import { CalibratedConfidence, CalibrationLabel, ConfidenceFeatures, labelIsGood } from '../schemas/index.ts';
import { UsageError } from './errors.ts';
import { settingsFromEnv } from './settings.ts';
import { acquireStateLock } from './state-lock.ts';
import { CALIBRATE_USAGE } from './usage-text.js';

/** `eval swe` rows (JSON lines) that carry the review's confidence: labelled by `resolved`. */
export function examplesFromRows(text: string, file: string): LabelledExample[] {
  const out: LabelledExample[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: { instance_id?: unknown; resolved?: unknown; confidence?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      throw new UsageError(`${file}:${i + 1}: not JSON`);
    }
    if (row.confidence === undefined) return;
    const c = CalibratedConfidence.safeParse(row.confidence);
    if (!c.success || typeof row.resolved !== 'boolean')
      throw new UsageError(`${file}:${i + 1}: confidence or resolved is not what eval swe writes`);
    out.push({
      id: `${String(row.instance_id)}@${file}:${i + 1}`,
      features: c.data.features,
      good: row.resolved,
    });
  });
  return out;
}

async function examplesFromRecord(
  dataDir: string,
  databaseUrl: string | undefined,
): Promise<LabelledExample[]> {
  // The embedded record is one process's: refuse while `codemesh up` holds the state dir (it names itself).
  const lock = databaseUrl ? undefined : acquireStateLock(dataDir, 'calibrate');
  const { openRecord, schema } = await import('../actors/recorder/index.ts');
  const rec = await openRecord({ databaseUrl, dir: join(dataDir, 'pg') });
  try {
    const t = schema.confidences;
    const rows = await rec.db
      .select({ id: t.patchId, features: t.features, label: t.label })
      .from(t)
      .where(isNotNull(t.label));
    return rows.flatMap((r) => {
      const label = CalibrationLabel.safeParse(r.label);
      const f = ConfidenceFeatures.safeParse(r.features);
      return label.success && f.success
        ? [{ id: r.id, features: f.data, good: labelIsGood(label.data) }]
        : [];
    });
  } finally {
    await rec.close();
    lock?.release();
  }
}

export async function cmdCalibrate(
  argv: string[],
  out: { write(text: string): unknown } = process.stdout,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string', multiple: true, default: [] },
      'no-record': { type: 'boolean', default: false },
      'holdout-mod': { type: 'string', default: '3' },
      l2: { type: 'string', default: '0.01' },
      write: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const mod = Number(values['holdout-mod']);
  const l2 = Number(values.l2);
  if (!Number.isInteger(mod) || mod < 2)
    throw new UsageError(`--holdout-mod takes an integer ≥ 2\n${CALIBRATE_USAGE}`);
  if (!(l2 >= 0)) throw new UsageError(`--l2 takes a number ≥ 0\n${CALIBRATE_USAGE}`);
  const s = settingsFromEnv(env);
  const examples: LabelledExample[] = [];
  for (const f of values.rows.flatMap((r) => r.split(','))) {
    if (!existsSync(f)) throw new UsageError(`--rows ${f}: no such file`);
    examples.push(...examplesFromRows(readFileSync(f, 'utf8'), f));
  }
  if (!values['no-record'])
    examples.push(...(await examplesFromRecord(s.dataDir, env.DATABASE_URL || undefined)));
  if (examples.length === 0) {
    out.write(
      'codemesh calibrate: no labelled patches (the record has no decided or evaluated confidence, and no --rows carry one)\n',
    );
    return 2;
  }
  const at = new Date().toISOString();
  const r = refit(examples, {
    mod,
    l2,
    given: loadCalibration(s.dataDir),
    version: `fitted-${at.slice(0, 19).replace(/[-:T]/g, '')}`,
    source: [values['no-record'] ? '' : 'the record', ...values.rows].filter(Boolean).join(' + '),
    at,
  });
  let path: string | undefined;
  if (values.write) {
    path = calibrationPath(s.dataDir);
    await mkdir(s.dataDir, { recursive: true });
    await writeFile(`${path}.tmp`, `${JSON.stringify(r.weights, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }
  if (values.json) out.write(`${JSON.stringify({ ...r, ...(path ? { written: path } : {}) })}\n`);
  else {
    const h = r.holdout;
    out.write(
      `${[
        `labelled patches: ${r.n} (${r.good} good, ${r.n - r.good} not)`,
        h
          ? `held out (md5(id) % ${h.mod} = 0): ${h.test} of ${r.n}; Brier: Reviewer's own ${h.raw.brier}, weights in use ${h.given.brier}, fitted on the other ${h.train} ${h.fitted.brier}`
          : 'held out: too few examples for a split',
        `weights ${r.weights.version}: ${r.weights.fittedOn}`,
        path
          ? `written to ${path} (the Reviewer reads it at its next review)`
          : 'not written (--write installs them)',
      ].join('\n')}\n`,
    );
  }
  return 0;
}
