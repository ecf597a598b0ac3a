// A whole mesh for end-to-end tests: nats-server child, all actors, the gateway on loopback, a scripted model.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitHub } from '../actors/integrator/github/index.ts';
import { type EmbeddedMesh, type Role, startEmbedded } from '../actors/mesh.ts';
import { openRecord } from '../actors/recorder/index.ts';
import { curatorIndexer } from '../actors/runtime/retrieve.ts';
import { connectMesh, type MeshConnection } from '../blackboard/index.ts';
import { createGateway, serveGateway } from '../gateway/index.ts';
import type { TaskEvent } from '../schemas/index.ts';
import { type Script, type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';

export const TOKEN = 'test-token-0123456789abcdef';
export const PRICE_IN = 0.5;
export const PRICE_OUT = 1.5;

export interface Harness {
  mesh: EmbeddedMesh;
  client: MeshConnection;
  llm: ScriptedLlm;
  url: string;
  dataDir: string;
  env: Record<string, string>;
  /** The gateway's system of record (audit log, chat threads). */
  record: Awaited<ReturnType<typeof openRecord>>;
  /** Replaces the model's script (tests run tasks one after another). */
  setScript(s: Script): void;
  api(path: string, init?: RequestInit): Promise<Response>;
  waitForStatus(
    taskId: string,
    status: string | string[],
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: {
    roles?: readonly Role[];
    leaseMs?: number;
    testTimeoutMs?: number;
    /** Extra settings of the actors (e.g. `CODEMESH_BREAKER_COOLDOWN_MS`). */
    env?: Record<string, string>;
    /** The gateway's default for the test-writing step (default false here; the product's default is true). */
    reproduceTests?: boolean;
    /** The gateway's GitHub (issue intake, webhooks); the actors read theirs from `env`. */
    github?: GitHub;
    /** Embeddings from the scripted server too (`CODEMESH_EMBED_BASE_URL`, 384-dim hash vectors). */
    embeddings?: boolean;
  } = {},
): Promise<Harness> {
  let script: Script = () => {
    throw new Error('no script set');
  };
  const llm = await startScriptedLlm((req) => script(req), opts.embeddings ? { embeddingDims: 384 } : {});
  const dataDir = mkdtempSync(join(tmpdir(), 'codemesh-data-'));
  const env = {
    CODEMESH_LLM_BASE_URL: llm.url,
    CODEMESH_LLM_API_KEY: 'sk-test-secret-key',
    CODEMESH_LLM_MODEL: 'scripted-model',
    CODEMESH_LLM_PRICE_IN_PER_1K: String(PRICE_IN),
    CODEMESH_LLM_PRICE_OUT_PER_1K: String(PRICE_OUT),
    CODEMESH_LLM_MAX_RETRIES: '0',
    ...(opts.embeddings
      ? { CODEMESH_EMBED_BASE_URL: llm.url, CODEMESH_EMBED_MODEL: 'scripted-embedding' }
      : {}),
    ...opts.env,
  };
  // A long lease: under a loaded CI machine a scripted (sequence) model must not see a step re-run.
  const mesh = await startEmbedded({
    dataDir,
    env,
    roles: opts.roles,
    leaseMs: opts.leaseMs ?? 10_000,
    testTimeoutMs: opts.testTimeoutMs,
  });
  const client = await connectMesh({ url: mesh.natsUrl, name: 'gateway' });
  // The same PGlite directory as the recorder role: one database per process, shared.
  const record = await openRecord({ dir: join(dataDir, 'pg') });
  const server = await serveGateway(
    createGateway({
      mesh: client,
      record,
      token: TOKEN,
      // As `codemesh up`: the state dir is shared with the actors (its secret.key seals model API keys).
      stateDir: dataDir,
      // As `codemesh up` wires it: the mesh's Curator builds the index, in its worker, into its cache.
      indexer: curatorIndexer(client),
      // The whole-mesh tests' scripts predate the test-writing step: a test asks for it (`test.reproduce`).
      reproduceTests: opts.reproduceTests ?? false,
      ...(opts.github ? { github: opts.github } : {}),
    }),
    { nats: client.nc },
  );
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
  return {
    mesh,
    client,
    llm,
    url: server.url,
    dataDir,
    env,
    record,
    setScript(s) {
      script = s;
    },
    api,
    async waitForStatus(taskId, status, timeoutMs = 60_000) {
      const want = Array.isArray(status) ? status : [status];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const body = (await (await api(`/v1/tasks/${taskId}`)).json()) as { task: { status: string } };
        if (want.includes(body.task.status)) return body as unknown as Record<string, unknown>;
        const terminal = want.includes('rolled_back') ? ['failed'] : ['completed', 'failed', 'rolled_back'];
        if (terminal.includes(body.task.status))
          throw new Error(
            `task ended ${body.task.status}, wanted ${want.join('|')}: ${JSON.stringify(body.task)}`,
          );
        if (Date.now() > deadline)
          throw new Error(`task ${taskId} still ${body.task.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await server.close();
      await client.close();
      await mesh.stop();
      await record.close();
      await llm.close();
    },
  };
}

/** Reads an SSE response until `until` returns true or the stream ends. */
export async function readSse(
  res: Response,
  until: (e: TaskEvent) => boolean = () => false,
): Promise<Array<{ id: number; event: TaskEvent }>> {
  const out: Array<{ id: number; event: TaskEvent }> = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const id = /^id: ?(.*)$/m.exec(frame)?.[1];
      const data = /^data: ?(.*)$/m.exec(frame)?.[1];
      if (id && data) {
        const event = JSON.parse(data) as TaskEvent;
        out.push({ id: Number(id), event });
        if (until(event)) {
          await reader.cancel();
          return out;
        }
      }
      i = buf.indexOf('\n\n');
    }
  }
  return out;
}
