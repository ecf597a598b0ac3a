// The calibration of the record's confidences against their labelled outcomes, for `/v1/metrics` (Prometheus
// gauges) and `/v1/metrics/calibration` (JSON with reliability bins).
import { and, count, isNotNull, isNull, type SQL } from 'drizzle-orm';
import { schema } from '../actors/recorder/index.ts';
import type { RecordDb } from '../actors/recorder/db.ts';
import { summarize } from '../actors/reviewer/calibration.ts';
import { type CalibrationMetrics, CalibrationLabel, labelIsGood } from '../schemas/index.ts';

/** `visible`: a condition on `confidences.task_id` (the caller's tasks); absent, the whole record. */
export async function calibrationMetrics(
  db: RecordDb,
  bins = 10,
  visible?: (taskId: typeof schema.confidences.taskId) => SQL | undefined,
): Promise<CalibrationMetrics> {
  const t = schema.confidences;
  const mine = visible?.(t.taskId);
  const rows = await db
    .select({ raw: t.raw, calibrated: t.calibrated, label: t.label, model: t.model })
    .from(t)
    .where(and(isNotNull(t.label), mine));
  const [open] = await db
    .select({ n: count() })
    .from(t)
    .where(and(isNull(t.label), mine));
  const labelled = rows.filter((r) => CalibrationLabel.safeParse(r.label).success);
  const y = labelled.map((r) => labelIsGood(r.label as CalibrationLabel));
  const labels: Record<string, number> = {};
  for (const r of labelled) labels[r.label!] = (labels[r.label!] ?? 0) + 1;
  return {
    calibration: {
      n: labelled.length,
      unlabelled: open?.n ?? 0,
      labels,
      models: [...new Set(labelled.map((r) => r.model))].sort(),
      raw: summarize(
        labelled.map((r) => r.raw),
        y,
        bins,
      ),
      calibrated: summarize(
        labelled.map((r) => r.calibrated),
        y,
        bins,
      ),
    },
  };
}
