// The console's static files through the real gateway: 503 naming the build command until a build exists,
// then the built page and its assets, without a token; nothing outside the build directory is served.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-setup.ts';

const consoleSrc = fileURLToPath(new URL('../../console', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'codemesh-console-'));
const outDir = join(base, 'dist');
// A file beside the build directory that must never be served.
writeFileSync(join(base, 'secret.txt'), 'not for the web');

let g: TestGateway;
beforeAll(async () => {
  // Read by the route on each request (an empty directory: not built yet).
  process.env.CODEMESH_CONSOLE_DIR = outDir;
  g = await startTestGateway();
});
afterAll(async () => {
  delete process.env.CODEMESH_CONSOLE_DIR;
  rmSync(base, { recursive: true, force: true });
  await g?.stop();
});

describe('GET /console', () => {
  it('answers 503 CONSOLE_NOT_BUILT, naming the build command, while there is no build', async () => {
    for (const path of ['/console', '/console/', '/console/assets/index.js']) {
      const res = await g.call('GET', path);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('CONSOLE_NOT_BUILT');
      expect(body.error.message).toContain('npm run console:build');
    }
  });

  it('serves the built page and its assets without a token once built', async () => {
    await build({
      root: consoleSrc,
      configFile: join(consoleSrc, 'vite.config.ts'),
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true },
    });
    for (const path of ['/console', '/console/', '/console/tasks/t-abc123']) {
      const res = await g.call('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain('<div id="root"></div>');
      expect(html).toMatch(/src="\/console\/assets\/index-[\w-]+\.js"/);
    }
    const script = readdirSync(join(outDir, 'assets')).find((f) => f.endsWith('.js'))!;
    const js = await g.call('GET', `/console/assets/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    // The bundle talks to the API it is served by, through the routes the console needs.
    const code = await js.text();
    for (const route of [
      '/v1/board/events',
      '/v1/tasks',
      '/approve',
      '/v1/repos',
      '/v1/chat/',
      '/v1/config/models',
    ])
      expect(code).toContain(route);
    expect(code).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/);
  });

  it('answers 404 for a missing asset and never serves files outside the build', async () => {
    expect((await g.call('GET', '/console/assets/missing.js')).status).toBe(404);
    for (const path of [
      '/console/%2e%2e/secret.txt',
      '/console/..%2fsecret.txt',
      '/console/..%5csecret.txt',
    ]) {
      const res = await g.call('GET', path);
      expect(await res.text()).not.toContain('not for the web');
    }
  });
});
