// Where repositories may be: under the roots an instance administrator configured (CODEMESH_REPO_ROOTS), and
// never the state dir or anything inside it (codemesh's own store, worktrees, left-over work dirs).
import { existsSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

export interface RepoPlacement {
  /** Real paths under which repositories may be; undefined: anywhere (the local operator, the superuser). */
  roots?: readonly string[];
  /** The state dir: refused, with everything inside it. */
  stateDir?: string;
}

export class RepoPathRefusedError extends Error {
  override readonly name = 'RepoPathRefusedError';
  readonly code = 'REPO_PATH_REFUSED';
}

export class RepoRootsError extends Error {
  override readonly name = 'RepoRootsError';
  readonly code = 'REPO_ROOTS_INVALID';
}

const realOrResolved = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));

/** `child` is `parent` or below it (both real, absolute paths). */
export const isWithin = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/**
 * Parses CODEMESH_REPO_ROOTS (colon-separated absolute paths) into real paths. Throws RepoRootsError for a
 * relative or missing root, or one inside the state dir.
 * @example parseRepoRoots('/srv/repos:/home/ci/checkouts', '/var/lib/codemesh')
 */
export function parseRepoRoots(raw: string | undefined, stateDir?: string): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const state = stateDir ? realOrResolved(stateDir) : undefined;
  return raw
    .split(':')
    .filter((r) => r.trim() !== '')
    .map((r) => {
      if (!r.startsWith('/')) throw new RepoRootsError(`CODEMESH_REPO_ROOTS: ${r} is not an absolute path`);
      if (!existsSync(r)) throw new RepoRootsError(`CODEMESH_REPO_ROOTS: ${r} does not exist`);
      const real = realpathSync(r);
      if (state && isWithin(real, state))
        throw new RepoRootsError(
          `CODEMESH_REPO_ROOTS: ${r} is inside the state dir ${state}; repositories never live there`,
        );
      return real;
    });
}

/** The real path of `repoPath` when it may hold tasks; RepoPathRefusedError naming the rule otherwise. */
export async function checkRepoPlacement(repoPath: string, placement: RepoPlacement): Promise<string> {
  const real = await realpath(repoPath);
  if (placement.stateDir && isWithin(real, realOrResolved(placement.stateDir)))
    throw new RepoPathRefusedError(
      `${real} is inside codemesh's state dir (CODEMESH_HOME); tasks never run there`,
    );
  if (placement.roots && !placement.roots.some((root) => isWithin(real, root)))
    throw new RepoPathRefusedError(
      `${real} is outside the repository roots this instance allows (CODEMESH_REPO_ROOTS)`,
    );
  return real;
}
