// `codemesh bridge slack|matrix|webhook`: a chat bridge alone on NATS_URL, until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

export async function cmdBridge(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  const [{ bridgeSettingsFromEnv, BridgeSettingsError, startBridge }, { connectMesh }] = await Promise.all([
    import('../bridge/index.ts'),
    import('../blackboard/index.ts'),
  ]);
  let settings: ReturnType<typeof bridgeSettingsFromEnv>;
  try {
    if (positionals.length !== 1)
      throw new BridgeSettingsError('codemesh bridge takes one of: slack, matrix, webhook');
    settings = bridgeSettingsFromEnv(positionals[0]!);
  } catch (err) {
    if (err instanceof BridgeSettingsError) throw new UsageError(err.message);
    throw err;
  }
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const mesh = await connectMesh({ url: natsUrl, name: `bridge-${settings.kind}` });
  const bridge = await startBridge(mesh, settings, { log: (l) => console.error(l) });
  console.error(
    `codemesh bridge ${settings.kind} on ${natsUrl} (consumer ${bridge.consumer}, commands ${bridge.url}, gateway ${settings.gatewayUrl ?? 'over NATS'}, ${Object.keys(settings.users).length} mapped users)`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await bridge.stop();
  await mesh.close();
  return 0;
}
