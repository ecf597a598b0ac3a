// `codemesh run` refuses bad flags before it starts or submits anything (exit 2 through UsageError).
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { cmdRun, runRequest } from './run.ts';

describe('codemesh run flags', () => {
  it('--candidates takes 1 to 8', async () => {
    for (const k of ['0', '9', 'three', '2.5']) {
      const err = await cmdRun(['--repo', '/nowhere', '--title', 't', '--candidates', k]).catch((e) => e);
      expect(err, k).toBeInstanceOf(UsageError);
      expect((err as Error).message, k).toMatch(/^--candidates: /);
    }
  });

  it('--docs asks for the Doc Writer; without it the task does not (the repository may still)', async () => {
    const base = ['--repo', '/src/app', '--title', 't'];
    expect(await runRequest([...base, '--docs'])).toMatchObject({ docs: true });
    expect((await runRequest(base)).docs).toBeUndefined();
    const err = await runRequest([...base, '--docs=yes']).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
  });
});
