// Reads a repository's `.codemesh.yml` from the git objects of a commit (never from a work tree, which a patch
// may have changed) and merges it with the registered and per-task settings.
import { parse as parseYaml } from 'yaml';
import {
  mergeRepoConfigs,
  parseRepoConfig,
  type RepoConfig,
  RepoConfigError,
} from '../../schemas/repo-config.ts';
import { git } from '../runtime/git.ts';

export const CONFIG_FILES = ['.codemesh.yml', '.codemesh.yaml'] as const;

/** The repository file at `commit`, validated; `{}` when there is none. Throws RepoConfigError when bad. */
export async function loadRepoConfig(
  repoPath: string,
  commit: string,
): Promise<{ config: RepoConfig; source?: string }> {
  for (const name of CONFIG_FILES) {
    const r = await git(repoPath, ['show', `${commit}:${name}`], { allowFail: true });
    if (r.exitCode !== 0) continue;
    let value: unknown;
    try {
      value = parseYaml(r.stdout);
    } catch (err) {
      const first = (err as Error).message.split('\n')[0];
      throw new RepoConfigError(`${name}: not valid YAML: ${first}`);
    }
    return { config: parseRepoConfig(value, name), source: name };
  }
  return { config: {} };
}

/**
 * The settings a task runs with: repo file < registered repo < task. `registered` and `task` were validated
 * where they came in (the API); they are checked again so that a stale stored value still fails clearly.
 */
export async function resolveRepoConfig(opts: {
  repoPath: string;
  commit: string;
  registered?: unknown;
  task?: unknown;
}): Promise<{ config: RepoConfig; sources: string[] }> {
  const file = await loadRepoConfig(opts.repoPath, opts.commit);
  const sources = file.source ? [file.source] : [];
  const registered =
    opts.registered === undefined
      ? undefined
      : parseRepoConfig(opts.registered, 'registered repository settings');
  if (registered) sources.push('registered repository settings');
  const task = opts.task === undefined ? undefined : parseRepoConfig(opts.task, 'task config');
  if (task) sources.push('task config');
  return { config: mergeRepoConfigs(file.config, registered, task), sources };
}
