// Checks that every role's model endpoint answers before a task starts.
import { type ModelConfig, preflight, resolveModelConfig } from '../actors/llm/index.ts';

/** Throws the first ModelError (its message names the settings to set). */
export async function checkModels(env: Record<string, string | undefined>): Promise<ModelConfig[]> {
  const configs = ['planner', 'coder', 'reviewer'].map((role) => resolveModelConfig(role, { env }));
  const seen = new Set<string>();
  for (const cfg of configs) {
    // The embedded model is checked per GGUF file, the others per endpoint.
    const key = cfg.local ? `local:${cfg.local.path}` : cfg.baseURL;
    if (seen.has(key)) continue;
    seen.add(key);
    await preflight(cfg, undefined, { timeoutMs: 5000 });
  }
  return configs;
}
