// Tenant isolation end to end through the gateway (issue 10): org alpha's task, with a secret in its title and
// description, reaches the approval gate, so the secret sits in the state dir (NATS store, PGlite), on the
// blackboard and in the record. Then org beta's task runs a repository whose conftest.py searches everything the
// test process can see for that secret (the filesystem but the system directories, its environment) and tries
// the host's loopback services (NATS, the gateway, Postgres). Nothing of alpha's may appear in beta's test run.
// The negative control runs the same search on the host over the state dir and finds the secret there, so a
// search that finds nothing in the sandbox is the sandbox's doing, not a blind search.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { git, makeFixtureRepo } from '../fixture-repo.ts';
import { type Harness, startHarness } from '../harness.ts';
import { byRole, type ScriptedReply } from '../scripted-llm/index.ts';

const USAGE = { prompt_tokens: 100, completion_tokens: 20 };
const SECRET = `ALPHA-SECRET-${randomBytes(8).toString('hex')}`;

const PLAN = JSON.stringify({
  summary: 'Make subtract return a - b',
  subtasks: [
    { id: 'fix', title: 'Fix subtract', successCriteria: ['subtract(5, 3) == 2'], files: ['calc.py'] },
  ],
  risks: [],
});
const FIX =
  'calc.py\n<<<<<<< SEARCH\ndef subtract(a, b):\n    return a + b\n=======\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n';
const APPROVE = JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'Correct.', risks: [] });
const script = () => {
  const u = (r: ScriptedReply): ScriptedReply => ({ usage: USAGE, ...r });
  return byRole({
    planner: [u({ content: PLAN })],
    coder: [u({ content: FIX })],
    reviewer: [u({ content: APPROVE })],
  });
};

/**
 * The search, as Python: `SECRET_HEX` is the secret in hex (so the repository's own text never holds it),
 * `ROOTS` where to look, `PORTS` the loopback ports to try. Prints one line per finding and a summary line.
 */
const SEARCH = `
import os, socket
SKIP = {'/proc', '/sys', '/dev', '/usr', '/lib', '/lib32', '/lib64', '/bin', '/sbin'}

def search():
    secret = bytes.fromhex(SECRET_HEX)
    found, scanned = [], 0
    for root in ROOTS:
        for d, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = [x for x in dirs if os.path.join(d, x) not in SKIP]
            for f in files:
                p = os.path.join(d, f)
                try:
                    if not os.path.isfile(p) or os.path.islink(p):
                        continue
                    with open(p, 'rb') as fh:
                        data = fh.read(8 << 20)
                except OSError:
                    continue
                scanned += 1
                if secret in data:
                    found.append('FOUND file ' + p)
    for k, v in os.environ.items():
        if secret.decode() in v:
            found.append('FOUND env ' + k)
    ports = []
    for port in PORTS:
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(('127.0.0.1', port))
            ports.append('TCP %d open' % port)
        except OSError:
            ports.append('TCP %d closed' % port)
        finally:
            s.close()
    return found, scanned, ports
`;

const conftest = (ports: number[]) => `${SEARCH}
SECRET_HEX = ${JSON.stringify(Buffer.from(SECRET).toString('hex'))}
ROOTS = ['/']
PORTS = ${JSON.stringify(ports)}

def pytest_terminal_summary(terminalreporter):
    found, scanned, ports = search()
    for line in found[:20] + ports:
        terminalreporter.write_line(line)
    terminalreporter.write_line('TENANT-SEARCH scanned=%d found=%d' % (scanned, len(found)))
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

async function call(method: string, path: string, body?: unknown) {
  const res = await h.api(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

it("org beta's repository tests never see org alpha's task, data or services", async () => {
  const alphaRepo = makeFixtureRepo('py-calc');
  const betaRepo = makeFixtureRepo('py-calc');
  const gatewayPort = Number(new URL(h.url).port);
  const natsPort = Number(new URL(h.mesh.natsUrl).port);
  writeFileSync(join(betaRepo, 'conftest.py'), conftest([natsPort, gatewayPort, 5432]));
  git(betaRepo, 'add', 'conftest.py');
  git(betaRepo, 'commit', '-q', '-m', 'conftest');
  for (const [org, repo] of [
    ['alpha', alphaRepo],
    ['beta', betaRepo],
  ] as const) {
    expect((await call('POST', '/v1/orgs', { name: org })).status).toBe(201);
    expect((await call('POST', '/v1/repos', { org, path: repo })).status).toBe(201);
  }

  h.setScript(script());
  const a = await call('POST', '/v1/tasks', {
    repo: alphaRepo,
    title: `Fix subtract ${SECRET}`,
    description: `subtract(5, 3) returns 8. Internal ref ${SECRET}.`,
  });
  expect(a.status).toBe(201);
  const alphaId = (a.body.task as { id: string }).id;
  await h.waitForStatus(alphaId, 'awaiting_approval', 240_000);

  h.setScript(script());
  const b = await call('POST', '/v1/tasks', {
    repo: betaRepo,
    title: 'Fix subtract',
    description: 'subtract(5, 3) returns 8, expected 2.',
  });
  expect(b.status).toBe(201);
  const betaId = (b.body.task as { id: string }).id;
  const view = (await h.waitForStatus(betaId, 'awaiting_approval', 240_000)) as {
    task: { orgId?: string };
    testRuns: Array<{ log: string }>;
  };
  const logs = view.testRuns.map((r) => r.log).join('\n');
  // The search ran, inside the sandbox, over a real tree.
  const summary = /TENANT-SEARCH scanned=(\d+) found=(\d+)/.exec(logs);
  expect(summary, logs.slice(-2000)).not.toBeNull();
  expect(Number(summary![1])).toBeGreaterThan(0);
  expect(summary![2]).toBe('0');
  expect(logs).not.toContain('FOUND');
  for (const port of [natsPort, gatewayPort, 5432]) expect(logs).toContain(`TCP ${port} closed`);
  // Nothing of alpha's in anything beta's task stored.
  const all = JSON.stringify(view);
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(alphaId);

  // Negative control: the same search on the host finds the secret in the state dir, and the ports open.
  const host = execFileSync(
    'python3',
    [
      '-c',
      `${SEARCH}
SECRET_HEX = ${JSON.stringify(Buffer.from(SECRET).toString('hex'))}
ROOTS = [${JSON.stringify(h.dataDir)}]
PORTS = ${JSON.stringify([natsPort, gatewayPort])}
found, scanned, ports = search()
print('\\n'.join(found + ports))`,
    ],
    { encoding: 'utf8' },
  );
  expect(host).toContain('FOUND file');
  expect(host).toContain(`TCP ${natsPort} open`);
  expect(host).toContain(`TCP ${gatewayPort} open`);
}, 600_000);
