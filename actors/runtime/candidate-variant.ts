// Which model and temperature candidate i of k uses for its Coder calls: the org's settings
// (`POST /v1/config/models` `candidates.variants`), else the environment's lists, else a temperature spread.
import type { CandidateDefaults, CandidateVariant } from '../../schemas/index.ts';

/**
 * `CODEMESH_CANDIDATE_MODELS=a,b,c` and `CODEMESH_CANDIDATE_TEMPERATURES=0.2,0.7,1` (entry i-1 is candidate i's;
 * an empty entry leaves that field to the next source). A temperature outside 0–2 is refused at start.
 */
export function candidateVariantsFromEnv(env: Record<string, string | undefined>): CandidateVariant[] {
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()) : []);
  const models = list(env.CODEMESH_CANDIDATE_MODELS);
  const temps = list(env.CODEMESH_CANDIDATE_TEMPERATURES);
  return Array.from({ length: Math.max(models.length, temps.length) }, (_, i) => {
    const t = temps[i] ? Number(temps[i]) : undefined;
    if (t !== undefined && !(t >= 0 && t <= 2))
      throw new Error(`CODEMESH_CANDIDATE_TEMPERATURES: "${temps[i]}" is not a temperature from 0 to 2`);
    return { ...(models[i] ? { model: models[i] } : {}), ...(t !== undefined ? { temperature: t } : {}) };
  });
}

/**
 * Field by field: the org's variant, the environment's, then a temperature spread over 0.2–1.0 so that k
 * candidates of one model differ (candidate 1 of 3: 0.2, 2: 0.6, 3: 1.0).
 *
 * @example resolveVariant(undefined, [], 2, 3) // { temperature: 0.6 }
 */
export function resolveVariant(
  org: CandidateDefaults | undefined,
  fromEnv: readonly CandidateVariant[],
  candidate: number,
  k: number,
): CandidateVariant {
  const o = org?.variants?.[candidate - 1] ?? {};
  const e = fromEnv[candidate - 1] ?? {};
  const spread = k > 1 ? Math.round((0.2 + (0.8 * (candidate - 1)) / (k - 1)) * 100) / 100 : undefined;
  const model = o.model ?? e.model;
  const temperature = o.temperature ?? e.temperature ?? spread;
  return { ...(model ? { model } : {}), ...(temperature !== undefined ? { temperature } : {}) };
}
