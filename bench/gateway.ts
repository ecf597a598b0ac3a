// Gateway benchmark: GET /v1/tasks/{id} with a personal access token against a served gateway, a real
// nats-server and an in-memory record, on loopback. Open-loop at a fixed rate (p95, achieved rps), then
// closed-loop at fixed concurrency (max rps). Bounded: a few thousand requests, about 10 s.
import { openRecord } from '../actors/recorder/index.ts';
import { projectEvent } from '../actors/recorder/project.ts';
import { seedTask } from '../actors/recorder/test-scenario.ts';
import { connectMesh, startNatsServer } from '../blackboard/index.ts';
import { createGateway, serveGateway } from '../gateway/index.ts';
import { makeFixtureRepo } from '../test/fixture-repo.ts';
import { type BenchMetric, percentile, printMetrics } from './metric.ts';

const DEV = 'bench-dev-token-0123456789abcdef';

export async function benchGateway(
  opts: { rate?: number; seconds?: number; concurrency?: number; closedSeconds?: number } = {},
): Promise<BenchMetric[]> {
  const rate = opts.rate ?? 500;
  const seconds = opts.seconds ?? 5;
  const nats = await startNatsServer();
  const mesh = await connectMesh({ url: nats.url, name: 'bench-gateway' });
  const record = await openRecord();
  const app = createGateway({ mesh, record, token: DEV, limits: { ratePerSec: 1e6, burst: 1e6 } });
  const server = await serveGateway(app);
  try {
    const repo = makeFixtureRepo('ts-calc');
    const reg = await app.request('/v1/repos', {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV}`, 'content-type': 'application/json' },
      body: JSON.stringify({ org: 'default', path: repo }),
    });
    if (reg.status !== 201) throw new Error(`register: ${await reg.text()}`);
    const taskId = 't-bench0000001';
    await seedTask(mesh, { id: taskId, repoPath: repo });
    for (const { seq, event } of await mesh.bus.history(taskId))
      await projectEvent(record.db, mesh.board, seq, event);
    const patRes = await app.request('/v1/tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', scopes: ['tasks:read'] }),
    });
    const { token } = (await patRes.json()) as { token: string };
    const url = `${server.url}/v1/tasks/${taskId}`;
    const headers = { authorization: `Bearer ${token}` };
    let errors = 0;
    const one = async (): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) errors++;
      return performance.now() - t0;
    };
    for (let i = 0; i < 200; i++) await one(); // warm-up: JIT, connections, PAT cache

    // Open loop: requests start on schedule whether or not earlier ones finished.
    const total = rate * seconds;
    const lat: number[] = [];
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(one().then((ms) => void lat.push(ms)));
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - started) / 1000;

    // Closed loop: fixed concurrency, as fast as the gateway answers.
    const conc = opts.concurrency ?? 16;
    const until = performance.now() + (opts.closedSeconds ?? 3) * 1000;
    let done = 0;
    const closedStart = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        while (performance.now() < until) {
          await one();
          done++;
        }
      }),
    );
    const maxRps = done / ((performance.now() - closedStart) / 1000);
    if (errors > 0) throw new Error(`${errors} requests failed`);
    return [
      { name: 'gateway_get_task_p95_ms', value: round(percentile(lat, 95)), unit: 'ms' },
      { name: 'gateway_get_task_p50_ms', value: round(percentile(lat, 50)), unit: 'ms' },
      { name: 'gateway_get_task_rps', value: round(lat.length / elapsed), unit: 'req/s' },
      { name: 'gateway_get_task_max_rps', value: round(maxRps), unit: 'req/s' },
    ];
  } finally {
    await server.close();
    await record.close();
    await mesh.close();
    await nats.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

if (import.meta.url === `file://${process.argv[1]}`) {
  printMetrics(await benchGateway());
  process.exit(0);
}
