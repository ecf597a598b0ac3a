// Checks that every role's model endpoint answers before a task starts.
import { type ModelConfig, preflight, resolveModelConfig } from '../actors/llm/index.ts';

/** Throws the first ModelError (its message names the settings to set). */
export async function checkModels(env: Record<string, string | undefined>): Promise<ModelConfig[]> {
  const configs = ['planner', 'coder', 'reviewer'].map((role) => resolveModelConfig(role, { env }));
  const seen = new Set<string>();
  for (const cfg of configs) {
    if (seen.has(cfg.baseURL)) continue;
    seen.add(cfg.baseURL);
    await preflight(cfg, undefined, { timeoutMs: 5000 });
  }
  return configs;
}
