// Serves the gateway on @hono/node-server (loopback by default).
import { serve } from '@hono/node-server';

export async function serveGateway(
  app: { fetch: (req: Request) => Response | Promise<Response> },
  opts: { port?: number; hostname?: string } = {},
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  return await new Promise((resolve) => {
    const server = serve(
      { fetch: app.fetch, port: opts.port ?? 0, hostname: opts.hostname ?? '127.0.0.1' },
      (info) => {
        resolve({
          url: `http://${opts.hostname ?? '127.0.0.1'}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((r) => {
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              server.close(() => r());
            }),
        });
      },
    );
  });
}
