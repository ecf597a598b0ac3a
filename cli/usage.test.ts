// `codemesh <cmd> --help`: each command's own usage, answered by bin/codemesh.js without loading TypeScript.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Roles } from '../actors/mesh.ts';
import { CODEMESH_ROOT } from '../test/fixture-repo.ts';
import { ROLES_TEXT, usageOf, wantsHelp } from './usage-text.js';

const codemesh = (...args: string[]) =>
  execFileSync(process.execPath, [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), ...args], { encoding: 'utf8' });

describe('codemesh <cmd> --help', () => {
  it.each([
    [['run', '--help'], 'usage: codemesh run --repo'],
    [['run', '--repo', 'x', '-h'], 'usage: codemesh run --repo'],
    [['doctor', '--help'], 'usage: codemesh doctor'],
    [['up', '--help'], 'usage: codemesh up'],
    [['actor', '--help'], 'usage: codemesh actor <conductor'],
    [['bridge', 'slack', '--help'], 'usage: codemesh bridge <slack|matrix|webhook>'],
    [['deadletters', 'redrive', '--help'], 'usage: codemesh deadletters'],
    [['policy', 'update', '--help'], 'usage: codemesh policy update'],
    [['calibrate', '--help'], 'usage: codemesh calibrate'],
    [['index', '--help'], 'usage: codemesh index'],
    [['search', '-h'], 'usage: codemesh search'],
    [['eval', '--help'], 'usage: codemesh eval localize'],
    [['eval', 'swe', '--help'], 'usage: codemesh eval swe'],
  ])('%j prints the command’s usage and exits 0', (args, head) => {
    expect(codemesh(...args).startsWith(head)).toBe(true);
  });

  it('the run usage names the gate’s keys; the overview points to per-command help', () => {
    expect(codemesh('run', '--help')).toContain('y  approve        n  request changes');
    expect(codemesh('--help')).toContain(
      '`codemesh <command> --help` shows one command’s options'.replace('’', "'"),
    );
  });

  it('--help after `--` is an argument, not a request for help', () => {
    expect(wantsHelp(['--title', 'x', '--', '--help'])).toBe(false);
    expect(wantsHelp(['--title', '--help'])).toBe(true);
    expect(usageOf(['frob', '--help'])).toBeUndefined();
  });

  it('names every actor role', () => {
    expect(ROLES_TEXT.split('|').sort()).toEqual([...Roles].sort());
  });
});
