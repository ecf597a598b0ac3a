// Starts a private nats-server child (JetStream on, loopback, temp or given store dir) and stops it by pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsUnavailableError } from './errors.ts';

export interface NatsServerHandle {
  url: string;
  port: number;
  pid: number;
  storeDir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** JetStream store directory; a new temp dir when omitted. */
  storeDir?: string;
  port?: number;
  binary?: string;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** @example const nats = await startNatsServer(); ...; await nats.stop(); */
export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'codemesh-nats-'));
  await mkdir(storeDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const binary = opts.binary ?? process.env.NATS_SERVER_BIN ?? 'nats-server';
  const child: ChildProcess = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const err = await Promise.race([
      spawnError,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 25)),
    ]);
    if (err) {
      throw new NatsUnavailableError(
        `could not start ${binary}: ${err.message}. Install it with \`npm run setup\` (Debian package nats-server) or set NATS_URL to a running server.`,
        { cause: err },
      );
    }
    if (child.exitCode !== null)
      throw new NatsUnavailableError(`nats-server exited at start: ${stderr.trim()}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new NatsUnavailableError(
        `nats-server did not listen on 127.0.0.1:${port} within 10 s: ${stderr}`,
      );
    }
  }
  const pid = child.pid ?? -1;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid,
    storeDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
