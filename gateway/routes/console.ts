// The web console's static files (`GET /console`, `/console/*`), built by `npm run console:build` into
// console/dist. They hold no data, so they are served without a token; the page asks for one.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { Env } from '../context.ts';
import { ApiError } from '../errors.ts';

/** console/dist of this checkout; `CODEMESH_CONSOLE_DIR` points elsewhere (tests, packaged builds). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Everything comes from this origin: no CDN, no inline script, no framing.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * @example consoleRoutes(app) // serves console/dist (or $CODEMESH_CONSOLE_DIR) under /console/
 */
export function consoleRoutes(app: Hono<Env>, opts: { root?: string } = {}): void {
  // Read per request: a build made after the gateway started is served without a restart.
  const rootDir = () => opts.root ?? process.env.CODEMESH_CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR;

  const serve = async (rel: string): Promise<Response> => {
    const root = normalize(rootDir());
    const index = join(root, 'index.html');
    if (!(await isFile(index)))
      throw new ApiError(
        503,
        'CONSOLE_NOT_BUILT',
        'the console is not built: run `npm run console:build` (part of `npm run setup`)',
      );
    let path = normalize(join(root, rel));
    // `..` segments are resolved by normalize: anything outside the root is simply not a file of the console.
    if (path !== root && !path.startsWith(root + sep)) path = index;
    // Unknown paths without an extension are client-side routes: the page handles them.
    if (!(await isFile(path))) {
      if (extname(rel) !== '') return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
      path = index;
    }
    const body = await readFile(path);
    // Vite names built assets by content hash: they never change; index.html must always be re-read.
    const immutable = path.startsWith(join(root, 'assets') + sep);
    return new Response(body, {
      headers: {
        ...SECURITY_HEADERS,
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      },
    });
  };

  app.get('/console', () => serve('index.html'));
  app.get('/console/*', (c) => {
    // Hono has already percent-decoded the path.
    const rel = c.req.path.slice('/console/'.length);
    return serve(rel === '' ? 'index.html' : rel);
  });
}
