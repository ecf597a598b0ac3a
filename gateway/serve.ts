// Serves the gateway on @hono/node-server (loopback by default), and — given the mesh's NATS connection — its
// API over NATS request/reply for the chat bridges (gateway/nats-api.ts).
import { serve } from '@hono/node-server';
import type { NatsConnection } from '@nats-io/transport-node';
import { serveApiOverNats } from './nats-api.ts';

export async function serveGateway(
  app: { fetch: (req: Request) => Response | Promise<Response> },
  opts: { port?: number; hostname?: string; nats?: NatsConnection; log?: (line: string) => void } = {},
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const overNats = opts.nats ? serveApiOverNats(opts.nats, app, opts.log) : undefined;
  return await new Promise((resolve) => {
    const server = serve(
      { fetch: app.fetch, port: opts.port ?? 0, hostname: opts.hostname ?? '127.0.0.1' },
      (info) => {
        resolve({
          url: `http://${opts.hostname ?? '127.0.0.1'}:${info.port}`,
          port: info.port,
          close: async () => {
            await overNats?.close();
            await new Promise<void>((r) => {
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              server.close(() => r());
            });
          },
        });
      },
    );
  });
}
