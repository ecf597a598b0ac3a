// Starts codemesh's actors: each role alone (`codemesh actor <role>`) or all in one process (`codemesh up`).
// Even in one process every actor has its own NATS connection and talks to the others only over NATS.
import { join, resolve } from 'node:path';
import {
  connectMesh,
  isNatsOutage,
  type MeshConnection,
  NatsUnavailableError,
  type NatsServerHandle,
  startNatsServer,
} from '../blackboard/index.ts';
import { createSandbox, type Sandbox } from '../sandbox-agent/index.ts';
import { coder } from './coder/machine.ts';
import { Conductor, type ConductorOptions } from './conductor/conductor.ts';
import { integrator } from './integrator/machine.ts';
import { createModelClient, type ModelClient, resolveModelConfig } from './llm/index.ts';
import { planner } from './planner/machine.ts';
import { reviewer } from './reviewer/machine.ts';
import { docWriter } from './docwriter/machine.ts';
import { AgentHost } from './runtime/agent-host.ts';
import { modelGuardFromEnv } from './runtime/guard-options.ts';
import { modelsFromBoard } from './runtime/models.ts';
import { curatorClient } from './runtime/retrieve.ts';
import type { AgentDefinition, AgentDeps, ModelProvider } from './runtime/types.ts';
import { candidateVariantsFromEnv } from './runtime/candidate-variant.ts';
import { pruneStaleWorktrees } from './runtime/worktrees.ts';
import { tester } from './tester/machine.ts';

export const agents = {
  planner,
  coder,
  tester,
  reviewer,
  docwriter: docWriter,
  integrator,
} as const satisfies Record<string, AgentDefinition>;
export const Roles = [
  'conductor',
  'recorder',
  'curator',
  'planner',
  'coder',
  'tester',
  'reviewer',
  'docwriter',
  'integrator',
  'chat',
  'memory',
  'campaign',
] as const;
export type Role = (typeof Roles)[number];

export function isRole(s: string): s is Role {
  return (Roles as readonly string[]).includes(s);
}

export interface ActorOptions {
  natsUrl: string;
  dataDir: string;
  env?: Record<string, string | undefined>;
  models?: ModelProvider;
  sandbox?: Sandbox;
  binDirs?: string[];
  /** Wall-clock cap of one test run (default 300 s). */
  testTimeoutMs?: number;
  leaseMs?: number;
  conductor?: ConductorOptions;
  concurrency?: number;
  instanceId?: string;
  log?: (line: string) => void;
}

/** Model clients per role from env alone (CODEMESH_LLM_* and CODEMESH_<ROLE>_LLM_*), made once each. */
export function modelsFromEnv(env: Record<string, string | undefined>): ModelProvider {
  const cache = new Map<string, ModelClient>();
  return (role) => {
    let c = cache.get(role);
    if (!c) {
      c = createModelClient(resolveModelConfig(role, { env }));
      cache.set(role, c);
    }
    return c;
  };
}

export function agentDeps(mesh: MeshConnection, opts: ActorOptions): AgentDeps {
  return {
    dataDir: resolve(opts.dataDir),
    // Per call: the task's org settings from the blackboard, over the environment (hot reload, no restart).
    models:
      opts.models ?? modelsFromBoard(mesh.board, { env: opts.env ?? process.env, stateDir: opts.dataDir }),
    sandbox: opts.sandbox ?? createSandbox(),
    binDirs: opts.binDirs ?? [join(import.meta.dirname, '..', 'node_modules', '.bin')],
    now: Date.now,
    modelGuard: modelGuardFromEnv(opts.env ?? process.env),
    candidateVariants: candidateVariantsFromEnv(opts.env ?? process.env),
    ...(opts.testTimeoutMs ? { testTimeoutMs: opts.testTimeoutMs } : {}),
    retrieve: curatorClient(mesh),
    emit: async (e) => {
      await mesh.bus.publish({ ...e, at: new Date().toISOString() });
    },
  };
}

export interface RunningActor {
  role: Role;
  stop(): Promise<void>;
}

/**
 * Starts one role on its own NATS connection. NATS going away while the role sets itself up (its consumer,
 * its first reads) throws NatsUnavailableError, as when there was no server at all: `codemesh actor` waits.
 */
export async function startActor(role: Role, opts: ActorOptions): Promise<RunningActor> {
  const mesh = await connectMesh({ url: opts.natsUrl, name: `codemesh-${role}` });
  try {
    return await startRole(role, mesh, opts);
  } catch (err) {
    await mesh.nc.close().catch(() => undefined);
    if (!isNatsOutage(err) || err instanceof NatsUnavailableError) throw err;
    throw new NatsUnavailableError(
      `NATS at ${opts.natsUrl} went away while ${role} started: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

async function startRole(role: Role, mesh: MeshConnection, opts: ActorOptions): Promise<RunningActor> {
  if (role === 'curator') {
    // Indexing and ranking run in child processes: a cold repository must not stall the actors sharing this
    // process's event loop (`codemesh up`, `codemesh run`). Same snapshots as `codemesh index` (warm-up).
    const { OffloopCurator } = await import('./curator/offloop.ts');
    const { startCuratorResponder } = await import('./curator/responder.ts');
    const { meshIndexDir } = await import('./curator/snapshot-store.ts');
    const curator = new OffloopCurator({
      cacheDir: meshIndexDir(opts.dataDir),
      onWarning: (m) => opts.log?.(`curator: ${m}`),
    });
    const subs = startCuratorResponder(mesh, curator);
    await mesh.nc.flush();
    return {
      role,
      async stop() {
        for (const sub of subs) sub.unsubscribe();
        await curator.close();
        await mesh.close();
      },
    };
  }
  if (role === 'chat') {
    const { startChatAgent } = await import('./chat/agent.ts');
    const agent = startChatAgent(mesh, { models: agentDeps(mesh, opts).models, log: opts.log });
    await mesh.nc.flush();
    return {
      role,
      async stop() {
        agent.stop();
        await mesh.close();
      },
    };
  }
  if (role === 'campaign') {
    const pollMs = Number((opts.env ?? process.env).CODEMESH_CAMPAIGN_POLL_MS ?? '') || undefined;
    return (await import('./campaign/index.ts')).startCampaignRole(mesh, { pollMs, log: opts.log });
  }
  if (role === 'memory') return (await import('./memory/index.ts')).startMemoryRole(mesh, { log: opts.log });
  // Loaded by the roles that use them: an agent process needs neither PGlite nor the Curator's parsers.
  if (role === 'recorder') return (await import('./recorder/role.ts')).startRecorderRole(mesh, opts);
  if (role === 'conductor') {
    const conductor = new Conductor(mesh, { leaseMs: opts.leaseMs, log: opts.log, ...opts.conductor });
    await conductor.start();
    return {
      role,
      async stop() {
        await conductor.stop();
        await mesh.close();
      },
    };
  }
  // Worktrees of a killed process stay registered in users' repositories until someone removes them.
  if (role === 'coder' || role === 'tester') await pruneStaleWorktrees(resolve(opts.dataDir));
  // With a GitHub token (or as a GitHub App) the Integrator also publishes pull requests (one durable consumer shared by all).
  const env = opts.env ?? process.env;
  const publisher =
    role === 'integrator' && (env.CODEMESH_GITHUB_TOKEN || env.CODEMESH_GITHUB_APP_ID)
      ? await (async () => {
          const gh = await import('./integrator/github/index.ts');
          const p = new gh.GitHubPublisher(mesh, {
            github: gh.createGitHub(gh.gitHubSettingsFromEnv(env), { log: opts.log }),
            workDir: gh.publisherWorkDir(resolve(opts.dataDir)),
            log: opts.log,
          });
          await p.start();
          return p;
        })()
      : undefined;
  const host = new AgentHost(mesh, {
    definition: agents[role],
    deps: agentDeps(mesh, opts),
    leaseMs: opts.leaseMs,
    concurrency: opts.concurrency,
    instanceId: opts.instanceId,
    log: opts.log,
  });
  host.start();
  await mesh.nc.flush();
  return {
    role,
    async stop() {
      await host.stop();
      await publisher?.stop();
      await mesh.close();
    },
  };
}

export interface EmbeddedMesh {
  natsUrl: string;
  server?: NatsServerHandle;
  actors: RunningActor[];
  stop(): Promise<void>;
}

/** A nats-server child (unless `natsUrl` is given) and the chosen roles, each on its own connection. */
export async function startEmbedded(
  opts: Omit<ActorOptions, 'natsUrl'> & { natsUrl?: string; roles?: readonly Role[] },
): Promise<EmbeddedMesh> {
  const server = opts.natsUrl ? undefined : await startNatsServer({ storeDir: join(opts.dataDir, 'nats') });
  const natsUrl = opts.natsUrl ?? server!.url;
  const actors: RunningActor[] = [];
  try {
    for (const role of opts.roles ?? Roles) actors.push(await startActor(role, { ...opts, natsUrl }));
  } catch (err) {
    await Promise.allSettled(actors.map((a) => a.stop()));
    await server?.stop();
    throw err;
  }
  return {
    natsUrl,
    server,
    actors,
    async stop() {
      await Promise.allSettled(actors.map((a) => a.stop()));
      await server?.stop();
    },
  };
}
