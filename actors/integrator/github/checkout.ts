// Which local checkout a GitHub repository is: the configured mapping first, else a candidate whose remote
// (`origin`, else the first) names it on the configured host. Remotes are read with codemesh's hardened git.
import { resolve } from 'node:path';
import { git } from '../../runtime/git.ts';
import { repoOfRemote } from './settings.ts';
import type { GitHubSettings, RepoCoords } from './types.ts';

/** The GitHub repository of a checkout, from its remote URLs; undefined when none is on the configured host. */
export async function gitHubRepoOf(
  settings: GitHubSettings,
  checkout: string,
): Promise<RepoCoords | undefined> {
  for (const [name, path] of Object.entries(settings.repoMap))
    if (resolve(path) === resolve(checkout)) {
      const [owner, repo] = name.split('/');
      if (owner && repo) return { owner, repo };
    }
  const remotes = (await git(checkout, ['remote'], { allowFail: true })).stdout.split('\n').filter(Boolean);
  const ordered = remotes.includes('origin') ? ['origin', ...remotes.filter((r) => r !== 'origin')] : remotes;
  for (const remote of ordered) {
    const url = (await git(checkout, ['remote', 'get-url', remote], { allowFail: true })).stdout.trim();
    const coords = url ? repoOfRemote(settings, url) : undefined;
    if (coords) return coords;
  }
  return undefined;
}

const same = (a: RepoCoords, b: RepoCoords) =>
  a.owner.toLowerCase() === b.owner.toLowerCase() &&
  a.repo.toLowerCase().replace(/\.git$/, '') === b.repo.toLowerCase().replace(/\.git$/, '');

/** The checkout of `target` among `candidates` (registered repositories), or the mapping's path. */
export async function findCheckout(
  settings: GitHubSettings,
  target: RepoCoords,
  candidates: readonly string[],
): Promise<string | undefined> {
  const mapped = settings.repoMap[`${target.owner}/${target.repo}`.toLowerCase()];
  if (mapped) return mapped;
  for (const path of candidates) {
    const coords = await gitHubRepoOf(settings, path).catch(() => undefined);
    if (coords && same(coords, target)) return path;
  }
  return undefined;
}
