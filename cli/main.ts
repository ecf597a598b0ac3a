// The codemesh CLI: run a task, start the mesh, run one actor, and the Curator's index/search/eval commands.
// Every command loads what it needs when it runs: `codemesh --help` and `codemesh <cmd> --help` load only the
// usage texts (a cold start of the actors' modules takes seconds).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PortBusyError, UsageError } from './errors.ts';
import { USAGE, usageOf, wantsHelp } from './usage-text.js';

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
  const [{ startEmbedded }, { connectMesh }, { parseRepoRoots }, { curatorIndexer }, settings, stateLock] =
    await Promise.all([
      import('../actors/mesh.ts'),
      import('../blackboard/index.ts'),
      import('../actors/conductor/repo-policy.ts'),
      import('../actors/runtime/retrieve.ts'),
      import('./settings.ts'),
      import('./state-lock.ts'),
    ]);
  const { settingsFromEnv, authFromEnv } = settings;
  const { acquireStateLock } = stateLock;
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
  let gw: Awaited<ReturnType<typeof import('../gateway/index.ts').serveGateway>>;
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
      { port, nats: client.nc, log: (l) => console.error(`codemesh: ${l}`) },
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
  const [{ isRole, Roles, startActor }, { NatsUnavailableError }, { settingsFromEnv }, { acquireStateLock }] =
    await Promise.all([
      import('../actors/mesh.ts'),
      import('../blackboard/index.ts'),
      import('./settings.ts'),
      import('./state-lock.ts'),
    ]);
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
  const usage = usageOf(argv);
  if (usage && wantsHelp(rest)) {
    console.log(usage);
    return 0;
  }
  switch (cmd) {
    // Each command loads what it needs: an actor process starts without the record, the gateway or `run`.
    case 'run':
      return (await import('./run.ts')).cmdRun(rest);
    case 'doctor':
      return (await import('./doctor.ts')).cmdDoctor(rest);
    case 'deadletters':
      return (await import('./deadletters.ts')).cmdDeadletters(rest);
    case 'policy':
      return (await import('./policy.ts')).cmdPolicy(rest);
    case 'campaign':
      return (await import('./campaign.ts')).cmdCampaign(rest);
    case 'calibrate':
      return (await import('./calibrate.ts')).cmdCalibrate(rest);
    case 'up':
      return cmdUp(rest);
    case 'actor':
      return cmdActor(rest);
    case 'bridge':
      return (await import('./bridge.ts')).cmdBridge(rest);
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
  process.exitCode = await reportError(err);
}
// Lingering sockets (NATS reconnect timers) must not keep a finished command alive.
setTimeout(() => process.exit(), 200).unref();

/** The exit code of a failed command, after saying why (error classes are loaded only on this path). */
async function reportError(err: unknown): Promise<number> {
  const e = err as Error & { code?: string };
  const [{ StateDirBusyError }, { RepoRootsError, RepoPathRefusedError }, { NatsUnavailableError }] =
    await Promise.all([
      import('./state-lock.ts'),
      import('../actors/conductor/repo-policy.ts'),
      import('../blackboard/index.ts'),
    ]);
  if (
    err instanceof StateDirBusyError ||
    err instanceof PortBusyError ||
    err instanceof RepoRootsError ||
    err instanceof RepoPathRefusedError
  ) {
    console.error(`codemesh: ${e.message}`);
    return 2;
  }
  if (
    err instanceof UsageError ||
    e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
  ) {
    console.error(`codemesh: ${e.message}`);
    // A bad flag: the usage of the command it was given to, else the overview of every command.
    if (!(err instanceof UsageError)) console.error(usageOf(process.argv.slice(2)) ?? USAGE);
    return 2;
  }
  if (err instanceof NatsUnavailableError) {
    console.error(`codemesh: ${e.message}`);
    return 3;
  }
  console.error(`codemesh: ${e.stack ?? e.message}`);
  return 1;
}
