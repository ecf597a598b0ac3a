// The codemesh CLI: run a task, start the mesh, run one actor, and the Curator's index/search/eval commands.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isRole, Roles, startActor, startEmbedded } from '../actors/mesh.ts';
import { connectMesh, NatsUnavailableError } from '../blackboard/index.ts';
import type { serveGateway } from '../gateway/index.ts';
import { RepoPathRefusedError, RepoRootsError, parseRepoRoots } from '../actors/conductor/repo-policy.ts';
import { curatorIndexer } from '../actors/runtime/retrieve.ts';
import { PortBusyError, UsageError } from './errors.ts';
import { authFromEnv, settingsFromEnv } from './settings.ts';
import { acquireStateLock, StateDirBusyError } from './state-lock.ts';

const USAGE = `codemesh — a mesh of coding agents on NATS

  codemesh run --repo <path> --title <text> [--description <text>] [--approve auto|manual] [--gate post-plan] [--push]
      [--candidates K]
      one task, end to end, with live progress; ends with the branch name
  codemesh doctor --repo <path> [--commit <ref>] [--files a,b] [--issue <text>] [--json]
      how the Tester would test the repository at that commit: runner, command, env, setup, tests, why
  codemesh up [--port N]
      nats-server (unless NATS_URL is set), every actor and the gateway in one process
  codemesh actor <${Roles.join('|')}>
      one actor alone, on NATS_URL (how the mesh scales out)
  codemesh deadletters [--limit N] [--json]
      what the durable consumers gave up on after bounded redelivery, newest first, with the reason
  codemesh deadletters redrive <seq|all> [--json]
      publish a dead letter's message again on its original subject and remove the letter
  codemesh index --repo <path> [--commit <sha>] [--json]
  codemesh search --repo <path> --query <text> [--top-k N] [--json]
  codemesh eval localize --dataset <file.jsonl> --repos <dir> [--limit N] [--json] [--out <file>]
      [--weights <file.json>] [--features <file.jsonl>]   (tuning: see actors/curator/fit-weights.ts)
  codemesh eval swe --dataset <file.jsonl> --repos <dir> [--instances id,...] [--limit N] [--gold]
      [--provider replay|env] [--k N] [--concurrency N] [--out <file>] [--json]
      SWE-bench issues through the whole mesh, graded in the sandbox (see cli/eval-swe/)

Settings (env): CODEMESH_LLM_BASE_URL, CODEMESH_LLM_API_KEY, CODEMESH_LLM_MODEL (and CODEMESH_<ROLE>_LLM_*),
NATS_URL, CODEMESH_TOKEN (development admin token), CODEMESH_HOME (state dir, default ./.codemesh), CODEMESH_PORT,
DATABASE_URL (Postgres for the record; default PGlite under CODEMESH_HOME/pg), CODEMESH_OIDC_ISSUER,
CODEMESH_OIDC_AUDIENCE, CODEMESH_OIDC_JWKS_URL, CODEMESH_JWT_HS256_SECRET (with CODEMESH_JWT_ISSUER and
CODEMESH_JWT_AUDIENCE, default codemesh), CODEMESH_JWT_MAX_LIFETIME_SEC, CODEMESH_REPO_ROOTS (colon-separated
directories where org admins may register repositories; unset: only the instance admin registers).`;

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Throws PortBusyError when `port` on loopback cannot be listened on (before anything else starts). */
async function checkPortFree(port: number): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortBusyError(port, err.code) : err),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

async function cmdUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' } }, strict: true });
  const s = settingsFromEnv();
  const port = values.port ? Number(values.port) : s.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a port number, not "${values.port ?? s.port}"`);
  const repoRoots = parseRepoRoots(process.env.CODEMESH_REPO_ROOTS, s.dataDir);
  // Refused before anything starts, so nothing is left running: a busy port, a state dir another process owns.
  if (port !== 0) await checkPortFree(port);
  const lock = acquireStateLock(s.dataDir, 'up');
  const started: Array<() => Promise<void>> = [async () => lock.release()];
  const stopAll = async () => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
  };
  let gw: Awaited<ReturnType<typeof serveGateway>>;
  let natsUrl: string;
  let natsPid: number | undefined;
  try {
    const mesh = await startEmbedded({
      dataDir: s.dataDir,
      natsUrl: s.natsUrl,
      leaseMs: s.leaseMs,
      log: (l) => console.error(l),
    });
    started.push(() => mesh.stop());
    natsUrl = mesh.natsUrl;
    natsPid = mesh.server?.pid;
    lock.update({ natsUrl });
    const client = await connectMesh({ url: mesh.natsUrl, name: 'codemesh-gateway' });
    started.push(() => client.close());
    // Loaded here, not at the top: `codemesh actor <role>` needs neither the record nor the gateway.
    const { openRecord } = await import('../actors/recorder/index.ts');
    const { createGateway, serveGateway } = await import('../gateway/index.ts');
    const record = await openRecord({
      databaseUrl: process.env.DATABASE_URL || undefined,
      dir: join(s.dataDir, 'pg'),
    });
    started.push(() => record.close());
    if (record.vectorNote) console.error(`codemesh: ${record.vectorNote}`);
    gw = await serveGateway(
      createGateway({
        mesh: client,
        record,
        token: s.token,
        auth: authFromEnv(process.env),
        repoRoots,
        stateDir: s.dataDir,
        // `POST /v1/repos/index` asks the mesh's Curator: the build runs in its worker, into the mesh's cache.
        indexer: curatorIndexer(client),
        log: (l) => console.error(l),
      }),
      { port },
    ).catch((err: NodeJS.ErrnoException) => {
      // Taken between the check and now.
      throw err.code === 'EADDRINUSE' ? new PortBusyError(port, err.code) : err;
    });
    started.push(() => gw.close());
    lock.update({ gatewayUrl: gw.url });
  } catch (err) {
    await stopAll();
    throw err;
  }
  console.log(
    `codemesh up: NATS ${natsUrl}${natsPid ? ` (pid ${natsPid})` : ''}, gateway ${gw.url}, console ${gw.url}/console/`,
  );
  console.log(
    s.tokenGenerated
      ? `gateway token (generated for this run; set CODEMESH_TOKEN to choose one): ${s.token}`
      : 'gateway token: from CODEMESH_TOKEN',
  );
  await waitForSignal();
  await stopAll();
  return 0;
}

async function cmdActor(argv: string[]): Promise<number> {
  const role = argv[0];
  if (!role || !isRole(role)) throw new UsageError(`codemesh actor takes one of: ${Roles.join(', ')}`);
  const s = settingsFromEnv();
  const natsUrl = s.natsUrl ?? 'nats://127.0.0.1:4222';
  // The embedded PGlite under the state dir takes one process: a recorder on it owns the dir, like `up` and
  // `run` (which run their own recorder on it). A recorder on Postgres (DATABASE_URL) shares nothing here.
  const lock =
    role === 'recorder' && !process.env.DATABASE_URL
      ? acquireStateLock(s.dataDir, 'actor recorder')
      : undefined;
  lock?.update({ natsUrl });
  const start = () =>
    startActor(role, {
      natsUrl,
      dataDir: s.dataDir,
      leaseMs: s.leaseMs,
      concurrency: s.concurrency,
      conductor: s.leaseMs ? { sweepMs: Math.max(100, s.leaseMs / 3), reannounceMs: s.leaseMs } : undefined,
      log: (l) => console.error(l),
    });
  // A long-lived actor outlives a NATS restart once connected; it also waits for one at start (a server
  // restarting, or started after the actors), up to CODEMESH_NATS_WAIT_S (default 60), then says so.
  const deadline = Date.now() + 1000 * Number(process.env.CODEMESH_NATS_WAIT_S ?? 60);
  let actor: Awaited<ReturnType<typeof start>>;
  for (let said = false; ; ) {
    try {
      actor = await start();
      break;
    } catch (err) {
      if (!(err instanceof NatsUnavailableError) || Date.now() >= deadline) throw err;
      if (!said) console.error(`codemesh actor ${role}: waiting for NATS at ${natsUrl}`);
      said = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  console.error(`codemesh actor ${role} on ${natsUrl} (pid ${process.pid})`);
  await waitForSignal();
  await actor.stop();
  lock?.release();
  return 0;
}

async function curator(cmd: string, argv: string[]): Promise<number> {
  const { main: curatorMain } = await import('../actors/curator/main.ts');
  return curatorMain([cmd, ...argv]);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    // Each command loads what it needs: an actor process starts without the record, the gateway or `run`.
    case 'run':
      return (await import('./run.ts')).cmdRun(rest);
    case 'doctor':
      return (await import('./doctor.ts')).cmdDoctor(rest);
    case 'deadletters':
      return (await import('./deadletters.ts')).cmdDeadletters(rest);
    case 'up':
      return cmdUp(rest);
    case 'actor':
      return cmdActor(rest);
    case 'index':
    case 'search':
      return curator(cmd, rest);
    case 'eval':
      if (rest[0] === 'swe') return (await import('./eval-swe/main.ts')).cmdEvalSwe(rest.slice(1));
      if (rest[0] !== 'localize') throw new UsageError('codemesh eval takes: localize, swe');
      return curator('eval-localize', rest.slice(1));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd ? 0 : 2;
    default:
      throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const e = err as Error & { code?: string };
  if (
    err instanceof StateDirBusyError ||
    err instanceof PortBusyError ||
    err instanceof RepoRootsError ||
    err instanceof RepoPathRefusedError
  ) {
    console.error(`codemesh: ${e.message}`);
    process.exitCode = 2;
  } else if (
    err instanceof UsageError ||
    e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
  ) {
    console.error(`codemesh: ${e.message}`);
    // A bad flag: the usage of the command it was given to (run's own, else the overview of every command).
    if (!(err instanceof UsageError))
      console.error(process.argv[2] === 'run' ? (await import('./run.ts')).RUN_USAGE : USAGE);
    process.exitCode = 2;
  } else if (err instanceof NatsUnavailableError) {
    console.error(`codemesh: ${e.message}`);
    process.exitCode = 3;
  } else {
    console.error(`codemesh: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  }
}
// Lingering sockets (NATS reconnect timers) must not keep a finished command alive.
setTimeout(() => process.exit(), 200).unref();
