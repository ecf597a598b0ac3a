// `codemesh campaign start|status|list|pause|resume|cancel|retry`: multi-repo campaigns through the gateway's API (so the
// token's scopes and roles, the audit and the org quota apply as for any client). Gateway: CODEMESH_URL, else
// the one `codemesh up` holding the state dir announced, else http://127.0.0.1:$CODEMESH_PORT (8787); token:
// CODEMESH_TOKEN.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { settingsFromEnv } from './settings.ts';
import { stateDirHolder } from './state-lock.ts';
import { CAMPAIGN_USAGE } from './usage-text.js';

type Out = { write(text: string): unknown };
export interface CampaignCliDeps {
  env?: Record<string, string | undefined>;
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  out?: Out;
  err?: Out;
}

interface View {
  id: string;
  title: string;
  status: string;
  reason: string | null;
  waiting: string | null;
  burndown: Record<string, number>;
  repos: Array<{
    name: string;
    state: string;
    taskId: string | null;
    upstream: string[];
    reason: string | null;
  }>;
}

function gateway(env: Record<string, string | undefined>): string {
  if (env.CODEMESH_URL) return env.CODEMESH_URL.replace(/\/+$/, '');
  const held = stateDirHolder(settingsFromEnv(env).dataDir)?.gatewayUrl;
  return held ?? `http://127.0.0.1:${env.CODEMESH_PORT ?? '8787'}`;
}

const int = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number, not "${v}"`);
  return n;
};

function printView(out: Out, c: View): void {
  const b = Object.entries(c.burndown)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  out.write(`campaign ${c.id} "${c.title}": ${c.status}${c.reason ? ` (${c.reason})` : ''} — ${b}\n`);
  if (c.waiting) out.write(`  waiting: ${c.waiting}\n`);
  for (const r of c.repos)
    out.write(
      `  ${r.name.padEnd(24)} ${r.state.padEnd(17)} ${r.taskId ?? '-'}${r.upstream.length ? `  after ${r.upstream.join(', ')}` : ''}${r.reason ? `  ${r.reason}` : ''}\n`,
    );
}

/** Exit 0 done, 1 refused by the gateway (its code and message), 2 bad flags, 3 gateway unreachable. */
export async function cmdCampaign(argv: string[], deps: CampaignCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const doFetch = deps.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      title: { type: 'string' },
      description: { type: 'string' },
      repos: { type: 'string' },
      'repos-query': { type: 'string' },
      status: { type: 'string' },
      org: { type: 'string' },
      approve: { type: 'string' },
      'max-concurrent': { type: 'string' },
      'max-prs-per-hour': { type: 'string' },
      'window-start': { type: 'string' },
      'window-end': { type: 'string' },
      'window-days': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const token = env.CODEMESH_TOKEN;
  if (!token)
    throw new UsageError('codemesh campaign needs CODEMESH_TOKEN (a token with tasks:read / tasks:write)');
  let method = 'GET';
  let path: string;
  let body: unknown;
  let list = false;
  if (sub === 'start') {
    if (!values.title || !values.description || !values.repos === !values['repos-query'])
      throw new UsageError(
        `codemesh campaign start needs --title, --description and --repos or --repos-query (one of them)\n\n${CAMPAIGN_USAGE}`,
      );
    const ws = int('window-start', values['window-start']);
    const we = int('window-end', values['window-end']);
    if ((ws === undefined) !== (we === undefined))
      throw new UsageError('--window-start and --window-end go together (UTC hours, end excluded)');
    const days = values['window-days']?.split(',').map((d) => int('window-days', d.trim())!);
    method = 'POST';
    path = '/v1/campaigns';
    body = {
      title: values.title,
      description: values.description,
      repos: values.repos
        ? values.repos
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean)
        : { query: values['repos-query'] },
      ...(values.org ? { org: values.org } : {}),
      ...(values.approve ? { approve: values.approve } : {}),
      throttle: {
        ...(values['max-concurrent']
          ? { maxConcurrent: int('max-concurrent', values['max-concurrent']) }
          : {}),
        ...(values['max-prs-per-hour']
          ? { maxPrsPerHour: int('max-prs-per-hour', values['max-prs-per-hour']) }
          : {}),
        ...(ws !== undefined ? { window: { startHour: ws, endHour: we, ...(days ? { days } : {}) } } : {}),
      },
    };
  } else if (sub === 'status' || sub === 'pause' || sub === 'resume' || sub === 'cancel') {
    const id = positionals[0];
    if (!id || positionals.length > 1) throw new UsageError(`codemesh campaign ${sub} takes one campaign id`);
    path = `/v1/campaigns/${encodeURIComponent(id)}${sub === 'status' ? '' : `/${sub}`}`;
    if (sub !== 'status') method = 'POST';
  } else if (sub === 'list') {
    if (positionals.length)
      throw new UsageError('codemesh campaign list takes no argument (--status, --org)');
    const q = new URLSearchParams({ limit: '100' });
    if (values.status) q.set('status', values.status);
    if (values.org) q.set('org', values.org);
    path = `/v1/campaigns?${q}`;
    list = true;
  } else if (sub === 'retry') {
    const [id, repo] = positionals;
    if (!id || !repo || positionals.length > 2)
      throw new UsageError('codemesh campaign retry takes a campaign id and a repository (id or name)');
    method = 'POST';
    path = `/v1/campaigns/${encodeURIComponent(id)}/repos/${encodeURIComponent(repo)}/retry`;
  } else
    throw new UsageError(
      `codemesh campaign takes: start, status, list, pause, resume, cancel, retry\n\n${CAMPAIGN_USAGE}`,
    );

  const url = `${gateway(env)}${path}`;
  let res: Response;
  try {
    res = await doFetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    err.write(
      `codemesh: the gateway at ${gateway(env)} is unreachable (${(e as Error).message}); start \`codemesh up\` or set CODEMESH_URL\n`,
    );
    return 3;
  }
  const json = (await res.json().catch(() => ({}))) as {
    campaign?: View;
    items?: Array<Omit<View, 'repos'> & { repos: number; createdAt: string }>;
    error?: { code: string; message: string };
  };
  if (list && res.ok && json.items) {
    if (values.json) out.write(`${JSON.stringify(json.items)}\n`);
    else if (json.items.length === 0) out.write('no campaigns\n');
    else
      for (const c of json.items) {
        const ended = ['merged', 'failed', 'cancelled'].reduce((n, s) => n + (c.burndown[s] ?? 0), 0);
        out.write(`${c.id}  ${c.status.padEnd(10)} ${ended}/${c.repos} ended  "${c.title}"\n`);
      }
    return 0;
  }
  if (!res.ok || !json.campaign) {
    err.write(`codemesh: ${res.status} ${json.error?.code ?? ''}: ${json.error?.message ?? 'no answer'}\n`);
    return 1;
  }
  if (values.json) out.write(`${JSON.stringify(json.campaign)}\n`);
  else printView(out, json.campaign);
  return 0;
}
