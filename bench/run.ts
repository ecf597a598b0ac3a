// `npm run bench`: every benchmark, one JSON object a line ({"name","value","unit"}). Select with BENCH=a,b.
import { printMetrics } from './metric.ts';

const all: Record<string, () => Promise<Array<{ name: string; value: number; unit: string }>>> = {
  sandbox: async () => (await import('./sandbox.ts')).benchSandbox(),
  'cli-help': async () => (await import('./cli-help.ts')).benchCliHelp(),
  pipeline: async () => (await import('./pipeline.ts')).benchPipeline(),
  fanout: async () => (await import('./fanout.ts')).benchFanout(),
  curator: async () => (await import('./curator.ts')).benchCurator(),
  'curator-repo': async () => (await import('./curator-repo.ts')).benchCuratorRepo(),
  'curator-stall': async () => (await import('./curator-stall.ts')).benchCuratorStall(),
  gateway: async () => {
    // Imported by a computed path: the gateway benchmark lands with the API work and may not exist yet.
    const path = './gateway.ts';
    const mod = (await import(path).catch(() => undefined)) as
      | { benchGateway?: () => Promise<Array<{ name: string; value: number; unit: string }>> }
      | undefined;
    if (!mod?.benchGateway) throw new Error('bench/gateway.ts is not there yet');
    return mod.benchGateway();
  },
};

const pick = process.env.BENCH?.split(',').filter(Boolean) ?? Object.keys(all);
let failed = false;
for (const name of pick) {
  const fn = all[name];
  if (!fn) {
    console.error(`unknown benchmark ${name}; have ${Object.keys(all).join(', ')}`);
    failed = true;
    continue;
  }
  try {
    printMetrics(await fn());
  } catch (err) {
    console.error(`bench ${name} failed: ${(err as Error).message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
