// Test helper: builds small git repositories in a temp directory, commit by commit.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export interface TestRepo {
  path: string;
  /** Writes (string or Buffer) or deletes (null) files, commits, returns the commit id. */
  commit(files: Record<string, string | Buffer | null>, message?: string): string;
  cleanup(): void;
}

export function makeTestRepo(): TestRepo {
  const path = mkdtempSync(join(tmpdir(), 'curator-test-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', path, ...args], { env: ENV, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  return {
    path,
    commit(files, message = 'change') {
      for (const [rel, content] of Object.entries(files)) {
        const abs = join(path, rel);
        if (content === null) rmSync(abs, { force: true });
        else {
          mkdirSync(dirname(abs), { recursive: true });
          writeFileSync(abs, content);
        }
      }
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    cleanup() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
