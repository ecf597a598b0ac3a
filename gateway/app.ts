// The Hono gateway: authentication, limits and metrics around the task, patch, admin and operations routes.
import { Hono } from 'hono';
import { createGitHub, gitHubSettingsFromEnv } from '../actors/integrator/github/index.ts';
import { pingRecord } from '../actors/recorder/index.ts';
import { Access } from './access.ts';
import { Authenticator, requireAuth } from './auth.ts';
import { type Env, type Gateway, makeAudit } from './context.ts';
import { ApiError, toErrorResponse } from './errors.ts';
import { StreamSlots, TokenBuckets } from './limits.ts';
import { HttpMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { adminRoutes } from './routes/admin.ts';
import { boardRoutes } from './routes/board.ts';
import { consoleRoutes } from './routes/console.ts';
import { modelRoutes } from './routes/models.ts';
import { policyBundleRoutes } from './routes/policy-bundle.ts';
import { opsRoutes } from './routes/ops.ts';
import { patchRoutes } from './routes/patches.ts';
import { budgetRoutes } from './routes/budget.ts';
import { campaignRoutes } from './routes/campaigns.ts';
import { planRoutes } from './routes/plans.ts';
import { taskRoutes } from './routes/tasks.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { DEFAULT_LIMITS, type GatewayOptions } from './types.ts';

/**
 * @example const app = createGateway({ mesh, record: await openRecord({ dir: '.codemesh/pg' }), token: devToken });
 */
export function createGateway(opts: GatewayOptions): Hono<Env> {
  const now = opts.now ?? Date.now;
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const db = opts.record.db;
  const auth = new Authenticator(
    opts.record,
    { ...opts.auth, ...(opts.token ? { devToken: opts.token } : {}) },
    now,
  );
  const gw: Gateway = {
    mesh: opts.mesh,
    db,
    access: new Access(db, opts.mesh.board, now),
    auth,
    limits,
    slots: new StreamSlots(limits.maxSsePerToken),
    userSlots: new StreamSlots(limits.maxSsePerUser, 'user'),
    metrics: new HttpMetrics(),
    opts,
    github: opts.github ?? createGitHub(gitHubSettingsFromEnv(process.env)),
    now,
    audit: makeAudit(db, now),
  };
  const buckets = new TokenBuckets(limits.ratePerSec, limits.burst, now);
  const userBuckets = new TokenBuckets(
    limits.userRatePerSec ?? limits.ratePerSec * 4,
    limits.userBurst ?? limits.burst * 4,
    now,
  );
  const app = new Hono<Env>();

  app.onError((err, c) => {
    const res = toErrorResponse(err, c);
    if (res.status >= 500 && !(err instanceof ApiError)) opts.log?.(`gateway: ${err.stack ?? String(err)}`);
    return res;
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'no such route' } }, 404));

  app.use('*', async function measure(c, next) {
    const t0 = performance.now();
    await next();
    // The route pattern, not the path: ids would make the label set unbounded.
    const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
    gw.metrics.observe(c.req.method, route, c.res.status, (performance.now() - t0) / 1000);
  });
  app.use('*', async function declaredBodyLimit(c, next) {
    const len = Number(c.req.header('content-length') ?? '0');
    if (len > limits.maxBodyBytes)
      throw new ApiError(413, 'BODY_TOO_LARGE', `the body is larger than ${limits.maxBodyBytes} bytes`);
    return next();
  });

  app.get('/healthz', async (c) => {
    const nats = !opts.mesh.nc.isClosed();
    const record = await pingRecord(db);
    return c.json({ ok: nats && record, nats, record }, nats && record ? 200 : 503);
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  consoleRoutes(app);

  // Before bearer auth: GitHub authenticates its deliveries with their HMAC signature, checked in the route.
  webhookRoutes(app, gw);
  app.use('/v1/*', requireAuth(auth));
  app.use('/v1/*', async function rateLimit(c, next) {
    const p = c.get('principal');
    buckets.take(p.tokenKey);
    // One user's many tokens share a second bucket: minting tokens does not multiply the rate.
    userBuckets.take(p.userId);
    return next();
  });

  taskRoutes(app, gw);
  patchRoutes(app, gw);
  planRoutes(app, gw);
  budgetRoutes(app, gw);
  campaignRoutes(app, gw);
  adminRoutes(app, gw);
  modelRoutes(app, gw);
  policyBundleRoutes(app, gw);
  opsRoutes(app, gw);
  boardRoutes(app, gw);
  return app;
}
