// `codemesh actor <role>` started while NATS is down (restarting, or not up yet) waits for it instead of
// exiting: the chaos test killed nats-server while actors were still starting, and two of them gave up.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort, startNatsServer } from '../blackboard/index.ts';
import { CODEMESH_ROOT } from './fixture-repo.ts';

it('an actor started before NATS waits for it, then serves', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'actor', 'planner'], {
    env: {
      ...process.env,
      NATS_URL: `nats://127.0.0.1:${port}`,
      CODEMESH_HOME: mkdtempSync(join(tmpdir(), 'cm-actor-wait-')),
      CODEMESH_NATS_WAIT_S: '120',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const saw = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => stderr.includes(text) && resolve();
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        check();
      });
      child.once('exit', (code) => reject(new Error(`actor exited (${code}): ${stderr}`)));
      check();
    });
  try {
    await saw('waiting for NATS');
    const server = await startNatsServer({ port });
    try {
      await saw(`codemesh actor planner on nats://127.0.0.1:${port}`);
      expect(stderr.indexOf('waiting for NATS')).toBeLessThan(stderr.indexOf('codemesh actor planner on'));
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      await server.stop();
    }
  } finally {
    child.kill('SIGKILL');
  }
}, 180_000);

// A server that is up but whose JetStream is not (still recovering its store after a crash, or restarted
// without it for a moment): the actor's connection works, its set-up does not. It waits, as for no server.
it('an actor started while NATS has no JetStream yet waits for it, then serves', async () => {
  const port = await freePort();
  const plain = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const child = spawn(process.execPath, [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'actor', 'conductor'], {
    env: {
      ...process.env,
      NATS_URL: `nats://127.0.0.1:${port}`,
      CODEMESH_HOME: mkdtempSync(join(tmpdir(), 'cm-actor-wait-js-')),
      CODEMESH_NATS_WAIT_S: '120',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited: number | null | undefined;
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.once('exit', (code) => {
    exited = code;
  });
  const until = async (ok: () => boolean, what: string) => {
    const end = Date.now() + 60_000;
    while (!ok()) {
      if (exited !== undefined) throw new Error(`actor exited (${exited}) before ${what}: ${stderr}`);
      if (Date.now() > end) throw new Error(`no ${what} within 60 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await until(() => stderr.includes('waiting for NATS'), '"waiting for NATS"');
    // Still waiting a while later: it neither exited nor started.
    await new Promise((r) => setTimeout(r, 1500));
    await until(() => true, 'the wait');
    plain.kill('SIGKILL');
    await new Promise((r) => plain.once('exit', r));
    const server = await startNatsServer({ port });
    try {
      await until(() => stderr.includes('codemesh actor conductor on'), 'the start line');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => (exited !== undefined ? r(undefined) : child.once('exit', r)));
      await server.stop();
    }
  } finally {
    plain.kill('SIGKILL');
    child.kill('SIGKILL');
  }
}, 180_000);
