// The settings schema: good values, clear errors naming the key and the source, and the merge order.
import { describe, expect, it } from 'vitest';
import { mergeRepoConfigs, parseRepoConfig, RepoConfigError } from './repo-config.ts';
import { TaskRequest } from './task.ts';

describe('parseRepoConfig', () => {
  it('accepts every setting, and reads YAML numbers in env as strings', () => {
    const config = parseRepoConfig(
      {
        push: true,
        test: {
          command: ['python3', '-m', 'pytest'],
          env: { PYTHONHASHSEED: 0, DEBUG: true, NAME: 'x' },
          setup: ['echo hi > gen.txt', ['touch', 'b']],
          timeout: 600,
          scope: 'all',
          python: '/usr/bin/python3',
          runner: 'pytest',
          max_files: 5,
        },
      },
      '.codemesh.yml',
    );
    expect(config.test?.env).toEqual({ PYTHONHASHSEED: '0', DEBUG: 'true', NAME: 'x' });
    expect(config).toMatchObject({ push: true, test: { timeout: 600, scope: 'all', runner: 'pytest' } });
    expect(parseRepoConfig(null, '.codemesh.yml')).toEqual({});
  });

  it('names a misspelt key, the file, and the nearest setting', () => {
    expect(() => parseRepoConfig({ test: { timout: 5 } }, '.codemesh.yml')).toThrow(
      '.codemesh.yml: test.timout is not a setting (did you mean test.timeout?)',
    );
    expect(() => parseRepoConfig({ pushh: true }, 'task config')).toThrow(
      'task config: pushh is not a setting (did you mean push?)',
    );
    // Nothing close: the known settings are listed instead.
    expect(() => parseRepoConfig({ test: { zzzzzzzz: 1 } }, '.codemesh.yml')).toThrow(
      /test\.zzzzzzzz is not a setting; settings: test\.command, test\.env/,
    );
  });

  it('names a bad value with its key', () => {
    const bad = (v: unknown) => {
      try {
        parseRepoConfig(v, '.codemesh.yml');
      } catch (err) {
        expect(err).toBeInstanceOf(RepoConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ test: { timeout: 'ten' } })).toBe('.codemesh.yml: test.timeout: a whole number of seconds');
    expect(bad({ test: { timeout: 1.5 } })).toBe('.codemesh.yml: test.timeout: a whole number of seconds');
    expect(bad({ test: { scope: 'some' } })).toBe('.codemesh.yml: test.scope must be one of selected, all');
    expect(bad({ test: { runner: 'nose' } })).toMatch(
      /^\.codemesh\.yml: test\.runner must be one of pytest, django/,
    );
    expect(bad({ push: 'yes' })).toBe('.codemesh.yml: push: true or false');
    expect(bad({ test: { env: { 'BAD-NAME': 'x' } } })).toBe(
      '.codemesh.yml: test.env.BAD-NAME is not an environment variable name',
    );
    expect(bad('just text')).toBe(
      '.codemesh.yml: expected a mapping of settings (test:, push:, github:, docs:)',
    );
  });
});

describe('mergeRepoConfigs', () => {
  it('repo file < registered repo < task, env merged key by key', () => {
    const file = parseRepoConfig(
      { push: true, test: { timeout: 100, scope: 'all', env: { A: '1', B: '1' } } },
      'f',
    );
    const registered = parseRepoConfig({ test: { timeout: 200, env: { B: '2' } } }, 'r');
    const task = parseRepoConfig({ push: false, test: { env: { C: '3' } } }, 't');
    expect(mergeRepoConfigs(file, registered, task)).toEqual({
      push: false,
      test: { timeout: 200, scope: 'all', env: { A: '1', B: '2', C: '3' } },
    });
    expect(mergeRepoConfigs(undefined, file)).toEqual(file);
  });
});

describe('TaskRequest.config', () => {
  it('takes the same settings and refuses unknown ones', () => {
    const ok = TaskRequest.parse({ repo: '/r', title: 't', config: { push: true, test: { timeout: 60 } } });
    expect(ok.config).toEqual({ push: true, test: { timeout: 60 } });
    expect(TaskRequest.safeParse({ repo: '/r', title: 't', config: { test: { timout: 1 } } }).success).toBe(
      false,
    );
  });
});
