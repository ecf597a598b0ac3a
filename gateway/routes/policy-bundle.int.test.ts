// An org's policy bundle over HTTP: stored where the policy check reads it, checked before it is stored, org
// admins only, removable.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyBundle, orgPolicyPath } from '../../actors/policy/index.ts';
import { keys, OrgPolicyEntry } from '../../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => g?.stop());

type View = {
  org: string;
  yaml: string | null;
  bundle: { version: string; rules: Array<{ id: string; enforcement: string; enabled: boolean }> };
  error?: string;
};
const WARN_EVAL = "version: '3'\nrules:\n  - id: py-eval-exec\n    enforcement: warn\n";

describe('org policy bundle (GET/PUT /v1/config/policy)', () => {
  it('stores a valid bundle where the policy check of the org reads it, and shows the merged rules', async () => {
    const before = (await (await g.call('GET', '/v1/config/policy?org=org-a', DEV)).json()) as View;
    expect(before.yaml).toBeNull();
    expect(before.bundle.version).toBe('default-1');
    expect(before.bundle.rules.find((r) => r.id === 'py-eval-exec')?.enforcement).toBe('block');

    const put = await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml: WARN_EVAL });
    expect(put.status).toBe(200);
    const after = (await put.json()) as View;
    expect(after.yaml).toBe(WARN_EVAL);
    expect(after.bundle.version).toBe('default-1 < org:org-a@3');
    expect(after.bundle.rules.find((r) => r.id === 'py-eval-exec')?.enforcement).toBe('warn');
    expect(readFileSync(orgPolicyPath(g.stateDir, 'org-a'), 'utf8')).toBe(WARN_EVAL);
    // What a task of org-a is checked with.
    const head = execFileSync('git', ['-C', g.repoA, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const used = await loadPolicyBundle({
      dataDir: g.stateDir,
      orgId: 'org-a',
      repoPath: g.repoA,
      baseCommit: head,
    });
    expect(used.rules.find((r) => r.id === 'py-eval-exec')?.enforcement).toBe('warn');
    const other = await loadPolicyBundle({
      dataDir: g.stateDir,
      orgId: 'org-b',
      repoPath: g.repoA,
      baseCommit: head,
    });
    expect(other.rules.find((r) => r.id === 'py-eval-exec')?.enforcement).toBe('block');
  });

  it('refuses a bundle that does not parse or breaks the rules, keeping the stored one', async () => {
    for (const yaml of [
      'version: [',
      "version: '4'\nrules:\n  - id: secret\n    enforcement: warn\n",
      'rules: []',
    ]) {
      const res = await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml });
      expect(res.status, yaml).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code, yaml).toBe('POLICY_BUNDLE_INVALID');
      expect(error.message).toMatch(/org:org-a/);
    }
    expect(readFileSync(orgPolicyPath(g.stateDir, 'org-a'), 'utf8')).toBe(WARN_EVAL);
    const bad = await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml: WARN_EVAL, extra: 1 });
    expect(bad.status).toBe(400);
  });

  it('is for admins of the org with the config:write scope only', async () => {
    const bob = await g.jwt('bob');
    expect((await g.call('GET', '/v1/config/policy?org=org-a', bob)).status).toBe(403);
    expect((await g.call('PUT', '/v1/config/policy', bob, { org: 'org-a', yaml: WARN_EVAL })).status).toBe(
      403,
    );
    const aliceReadOnly = await g.jwt('alice', { scopes: ['tasks:read'] });
    const res = await g.call('PUT', '/v1/config/policy', aliceReadOnly, { org: 'org-a', yaml: WARN_EVAL });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INSUFFICIENT_SCOPE');
    const alice = await g.jwt('alice');
    expect((await g.call('GET', '/v1/config/policy?org=org-a', alice)).status).toBe(200);
  });

  it('removes the bundle with yaml null: the default applies again', async () => {
    const res = await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml: null });
    expect(res.status).toBe(200);
    expect(((await res.json()) as View).bundle.version).toBe('default-1');
    expect(existsSync(orgPolicyPath(g.stateDir, 'org-a'))).toBe(false);
  });

  it('keeps every change as a version in the record; a revision is restored as a new one; drift is shown', async () => {
    type Version = {
      revision: number;
      yaml: string | null;
      bundleVersion?: string;
      sha256?: string;
      by: string;
      restoredFrom?: number;
    };
    const versions = async () =>
      (
        (await (await g.call('GET', '/v1/config/policy/versions?org=org-a', DEV)).json()) as {
          versions: Version[];
        }
      ).versions;
    // The earlier tests of this file: stored (1), removed (2); the refused bundles made no version.
    const before = await versions();
    expect(before.map((v) => [v.revision, v.yaml === null])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(before[1]).toMatchObject({ yaml: WARN_EVAL, bundleVersion: '3' });
    expect(before[1]!.sha256).toMatch(/^[0-9a-f]{64}$/);

    // Two admins at once: two revisions, none lost.
    const other = "version: '5'\nrules:\n  - id: py-os-system\n    enforcement: warn\n";
    const [r1, r2] = await Promise.all([
      g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml: other }),
      g.call('PUT', '/v1/config/policy', DEV, { org: 'org-a', yaml: WARN_EVAL }),
    ]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const now = await versions();
    expect(now.map((v) => v.revision)).toEqual([4, 3, 2, 1]);
    const inUse = readFileSync(orgPolicyPath(g.stateDir, 'org-a'), 'utf8');
    expect(inUse).toBe(now[0]!.yaml); // the file is the last revision's

    // Restore revision 1 (WARN_EVAL) or 3/4 — whichever is not in use — as revision 5.
    const target = now.find((v) => v.yaml !== null && v.yaml !== inUse)!;
    const restored = await g.call('POST', '/v1/config/policy/restore', DEV, {
      org: 'org-a',
      revision: target.revision,
    });
    expect(restored.status).toBe(200);
    const view = (await restored.json()) as View & { revision: number; drift: boolean };
    expect(view).toMatchObject({ yaml: target.yaml, revision: 5, drift: false });
    expect((await versions())[0]).toMatchObject({
      revision: 5,
      restoredFrom: target.revision,
      yaml: target.yaml,
    });
    expect(readFileSync(orgPolicyPath(g.stateDir, 'org-a'), 'utf8')).toBe(target.yaml);
    expect(
      (await g.call('POST', '/v1/config/policy/restore', DEV, { org: 'org-a', revision: 99 })).status,
    ).toBe(404);
    // Only the org's admins see or restore its versions.
    const bob = await g.jwt('bob');
    expect((await g.call('GET', '/v1/config/policy/versions?org=org-a', bob)).status).toBe(403);
    expect(
      (await g.call('POST', '/v1/config/policy/restore', bob, { org: 'org-a', revision: 1 })).status,
    ).toBe(403);

    // Two first versions of another org at once: revisions 1 and 2.
    await Promise.all([
      g.call('PUT', '/v1/config/policy', DEV, { org: 'org-b', yaml: other }),
      g.call('PUT', '/v1/config/policy', DEV, { org: 'org-b', yaml: WARN_EVAL }),
    ]);
    const b = (await (await g.call('GET', '/v1/config/policy/versions?org=org-b', DEV)).json()) as {
      versions: Version[];
    };
    expect(b.versions.map((v) => v.revision)).toEqual([2, 1]);

    // A file installed outside the API (codemesh policy org, or by hand) shows as drift from the record.
    writeFileSync(orgPolicyPath(g.stateDir, 'org-a'), other.replace("'5'", "'6'"));
    const drifted = (await (await g.call('GET', '/v1/config/policy?org=org-a', DEV)).json()) as {
      drift: boolean;
      revision: number;
    };
    expect(drifted).toMatchObject({ drift: true, revision: 5 });
  });

  it("a policy check on another machine reads the API's bundle from the blackboard; a newer local file wins", async () => {
    const head = execFileSync('git', ['-C', g.repoA, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const elsewhere = mkdtempSync(join(tmpdir(), 'codemesh-other-machine-'));
    const check = (dataDir: string) =>
      loadPolicyBundle({ dataDir, orgId: 'org-b', repoPath: g.repoA, baseCommit: head, board: g.mesh.board });
    const evalRule = async (dataDir: string) =>
      (await check(dataDir)).rules.find((r) => r.id === 'py-eval-exec')?.enforcement;
    // (org-b has revisions from the test above: this PUT is the next one.)
    expect((await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-b', yaml: WARN_EVAL })).status).toBe(
      200,
    );
    const entry = await g.mesh.board.get(keys.orgPolicy('org-b'), OrgPolicyEntry);
    expect(entry?.value).toMatchObject({ org: 'org-b', yaml: WARN_EVAL });
    const rev = entry?.value.revision ?? 0;
    expect(rev).toBeGreaterThan(1);
    // No file on that machine: the blackboard's bundle.
    expect(await evalRule(elsewhere)).toBe('warn');
    // A file installed there later (codemesh policy org) is newer: it wins there.
    mkdirSync(join(elsewhere, 'policy', 'orgs'), { recursive: true });
    writeFileSync(
      orgPolicyPath(elsewhere, 'org-b'),
      "version: '9'\nrules:\n  - id: py-os-system\n    enforcement: warn\n",
    );
    expect(await evalRule(elsewhere)).toBe('block');
    // Removed over the API: the entry says so, and the older file there no longer applies.
    await new Promise((r) => setTimeout(r, 20));
    expect((await g.call('PUT', '/v1/config/policy', DEV, { org: 'org-b', yaml: null })).status).toBe(200);
    expect((await g.mesh.board.get(keys.orgPolicy('org-b'), OrgPolicyEntry))?.value).toMatchObject({
      revision: rev + 1,
      yaml: null,
    });
    utimesSync(
      orgPolicyPath(elsewhere, 'org-b'),
      new Date(Date.now() - 60_000),
      new Date(Date.now() - 60_000),
    );
    expect((await check(elsewhere)).version).toBe('default-1');
  });
});
