// `--soft-budget` / `--hard-budget` of `codemesh run`: `calls=20,usd=1.5,tokens=200000,wall=900`.
import type { BudgetLimits } from '../schemas/index.ts';
import { UsageError } from './errors.ts';

const NAMES = { calls: 'modelCalls', usd: 'usd', tokens: 'tokens', wall: 'wallSeconds' } as const;

/**
 * @example parseLimits('--soft-budget', 'calls=20,usd=1.5') // { modelCalls: 20, usd: 1.5 }
 */
export function parseLimits(flag: string, text: string): BudgetLimits {
  const out: BudgetLimits = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const name = NAMES[k?.trim() as keyof typeof NAMES];
    const n = Number(v);
    if (!name || rest.length || v === undefined || !Number.isFinite(n) || n <= 0)
      throw new UsageError(
        `${flag} takes key=value pairs with keys ${Object.keys(NAMES).join(', ')} and positive numbers, not "${part}"`,
      );
    out[name] = n;
  }
  return out;
}
