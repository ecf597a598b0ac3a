// Hostile repositories for the security tests: every way a repository's own config, hooks or attributes can
// make git run a program is wired to a script that leaves a marker file when it runs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Plain git for setting up fixtures (the tests' own trusted git, never codemesh's runner). */
export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

/** `sh` with stdin. */
export function shIn(cwd: string, args: string[], input: string): string {
  return execFileSync('git', args, {
    cwd,
    input,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

export const HOOKS = [
  'post-checkout',
  'pre-commit',
  'post-commit',
  'reference-transaction',
  'pre-push',
  'pre-receive',
  'update',
  'post-receive',
  'post-update',
  'pre-auto-gc',
  'post-index-change',
  'push-to-checkout',
];

export interface Trap {
  root: string;
  markers: string;
  /** A script that records `name` in the markers folder when run (a clean/smudge/textconv one passes stdin through). */
  script(name: string): string;
  /** Names of the markers written so far: must stay empty. */
  fired(): string[];
}

export function makeTrap(): Trap {
  const root = mkdtempSync(join(tmpdir(), 'codemesh-hostile-'));
  const markers = join(root, 'markers');
  const bin = join(root, 'bin');
  mkdirSync(markers);
  mkdirSync(bin);
  return {
    root,
    markers,
    script(name) {
      const p = join(bin, name);
      // Filters and textconv pass their input through; anything else exits at once (nothing may wait on it).
      const tail = /clean|smudge|textconv/.test(name) ? 'exec cat' : 'exit 0';
      writeFileSync(p, `#!/bin/sh\necho "$0 $*" > '${join(markers, name)}'\n${tail}\n`);
      chmodSync(p, 0o755);
      return p;
    },
    fired: () => readdirSync(markers),
  };
}

/** Hooks in both the default hooks folder and a core.hooksPath folder, each writing its own marker. */
export function armHooks(trap: Trap, gitDir: string, tag: string): void {
  const dirs = [join(gitDir, 'hooks'), join(trap.root, `hooks-${tag}`)];
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    for (const h of HOOKS) {
      const p = join(d, h);
      writeFileSync(p, `#!/bin/sh\necho "$0" > '${join(trap.markers, `${tag}-hook-${h}`)}'\nexit 0\n`);
      chmodSync(p, 0o755);
    }
  }
  sh(gitDir, '--git-dir', gitDir, 'config', 'core.hooksPath', dirs[1]!);
}

/**
 * A repository whose .git/config, attributes and hooks try everything: hooks, fsmonitor, filters (also one
 * defined in an included file), diff/merge drivers, external diff, ssh command, pager, credential helper,
 * gpg with log.showSignature, alternate-refs command. Returns the repo and its first commit.
 */
export function makeHostileRepo(trap: Trap): { repo: string; base: string; moved: string } {
  const repo = join(trap.root, 'repo');
  mkdirSync(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n');
  writeFileSync(join(repo, 'b.inc'), 'included filter\n');
  writeFileSync(join(repo, '.gitattributes'), '* filter=evil diff=evil merge=evil\n*.inc filter=inc\n');
  sh(repo, 'add', '-A');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'init');
  const base = sh(repo, 'rev-parse', 'HEAD');
  // Another line of history (line 1 changed) for integrations onto a moved base, made before any trap is set.
  writeFileSync(join(repo, 'a.txt'), 'ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-am', 'moved');
  const moved = sh(repo, 'rev-parse', 'HEAD');
  sh(repo, 'reset', '-q', '--hard', base);
  const set = (k: string, v: string) => sh(repo, 'config', k, v);
  armHooks(trap, join(repo, '.git'), 'repo');
  set('core.fsmonitor', trap.script('fsmonitor'));
  set('filter.evil.clean', trap.script('filter-clean'));
  set('filter.evil.smudge', trap.script('filter-smudge'));
  set('filter.evil.required', 'true');
  set('diff.external', trap.script('diff-external'));
  set('diff.evil.command', trap.script('diff-command'));
  set('diff.evil.textconv', trap.script('diff-textconv'));
  set('merge.evil.driver', `${trap.script('merge-driver')} %O %A %B`);
  set('core.sshCommand', trap.script('ssh-command'));
  set('core.pager', trap.script('pager'));
  set('credential.helper', `!${trap.script('credential-helper')}`);
  set('gpg.program', trap.script('gpg'));
  set('log.showSignature', 'true');
  set('core.alternateRefsCommand', trap.script('alternate-refs'));
  set('core.askPass', trap.script('askpass'));
  const extra = join(trap.root, 'extra.cfg');
  writeFileSync(
    extra,
    `[filter "inc"]\n\tprocess = ${trap.script('filter-process-included')}\n\trequired = true\n`,
  );
  set('include.path', extra);
  return { repo, base, moved };
}

/** A patch changing line 6 of a.txt at `base`, with the blob ids a 3-way apply needs. */
export const patchA = (repo: string, base: string) =>
  [
    'diff --git a/a.txt b/a.txt',
    `index ${sh(repo, 'rev-parse', `${base}:a.txt`)}..${'1'.repeat(40)} 100644`,
    '--- a/a.txt',
    '+++ b/a.txt',
    '@@ -4,4 +4,4 @@',
    ' four',
    ' five',
    '-six',
    '+SIX',
    ' seven',
    '',
  ].join('\n');
