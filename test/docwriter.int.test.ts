// The Doc Writer on the whole mesh (issue 14 item 2, FR-007): a patch that changes the signature of a public
// function gets its docstring, the README section naming it and the CHANGELOG updated in a separate patch,
// committed after the code commit; the PR description has every section. A patch that changes no public
// signature costs no model call.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PR_SECTIONS } from '../actors/integrator/github/index.ts';
import { DocPatch, keys, type Patch } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, USAGE } from './ts-calc-answers.ts';

const PLAN = {
  summary: 'Let add take a third term; fix subtract',
  subtasks: [
    {
      id: 'add3',
      title: 'add(a, b, c=0) and subtract returning a - b',
      successCriteria: ['add(1, 2, 3) == 6', 'subtract(5, 3) == 2'],
      files: ['calc.py'],
    },
  ],
  risks: [],
};

const CODE_EDIT = `calc.py
<<<<<<< SEARCH
def add(a, b):
    """Return the sum of a and b."""
    return a + b
=======
def add(a, b, c=0):
    """Return the sum of a and b."""
    return a + b + c
>>>>>>> REPLACE

calc.py
<<<<<<< SEARCH
def subtract(a, b):
    return a + b
=======
def subtract(a, b):
    return a - b
>>>>>>> REPLACE
`;

const BODY_ONLY_EDIT = `calc.py
<<<<<<< SEARCH
def subtract(a, b):
    return a + b
=======
def subtract(a, b):
    return a - b
>>>>>>> REPLACE
`;

const DOC_EDIT = `calc.py
<<<<<<< SEARCH
    """Return the sum of a and b."""
=======
    """Return the sum of a, b and c (c defaults to 0)."""
>>>>>>> REPLACE

README.md
<<<<<<< SEARCH
\`add(a, b)\` returns the sum of two numbers.
=======
\`add(a, b, c=0)\` returns the sum of two or three numbers.
>>>>>>> REPLACE

CHANGELOG.md
<<<<<<< SEARCH
## Unreleased
=======
## Unreleased

- \`add\` takes an optional third term \`c\`.
>>>>>>> REPLACE
`;

/** py-calc with a docstring, a README section naming add() and a CHANGELOG. */
function docsRepo(): string {
  const repo = makeFixtureRepo('py-calc');
  writeFileSync(
    join(repo, 'calc.py'),
    'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n\n\ndef subtract(a, b):\n    return a + b\n',
  );
  writeFileSync(
    join(repo, 'README.md'),
    '# calc\n\nSmall arithmetic.\n\n## add\n\n`add(a, b)` returns the sum of two numbers.\n\n## subtract\n\nThe difference.\n',
  );
  writeFileSync(join(repo, 'CHANGELOG.md'), '# Changelog\n\n## Unreleased\n\n## 0.1.0\n\n- First release.\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'docs and a docstring');
  return repo;
}

const DOC_APPROVE = { usage: USAGE, content: JSON.stringify({ verdict: 'approve', comments: 'accurate' }) };
const DOC_REVISE = {
  usage: USAGE,
  content: JSON.stringify({ verdict: 'revise', comments: 'The CHANGELOG entry must name the default of c.' }),
};

/** A "documentation" edit that also changes code: the docstring and the return line. */
const SNEAKY_EDIT = `calc.py
<<<<<<< SEARCH
    """Return the sum of a and b."""
    return a + b + c
=======
    """Return the sum of a, b and c (c defaults to 0)."""
    return a + b + c + 1
>>>>>>> REPLACE
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

async function submit(repo: string): Promise<string> {
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'add() takes a third term',
      description: 'add(a, b) should accept an optional c: add(1, 2, 3) == 6. subtract(5, 3) returns 8.',
      docs: true,
    }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { task: { id: string } }).task.id;
}

it('documents a changed signature in a separate patch and commit; the PR description has every section', {
  timeout: 240_000,
}, async () => {
  const script: Script = (req) =>
    req.roleHint === 'planner'
      ? { usage: USAGE, content: JSON.stringify(PLAN) }
      : req.roleHint === 'reviewer'
        ? APPROVE
        : req.roleHint === 'docwriter'
          ? { usage: USAGE, content: DOC_EDIT }
          : req.roleHint === 'docreview'
            ? DOC_APPROVE
            : { usage: USAGE, content: CODE_EDIT };
  h.setScript(script);
  const repo = docsRepo();
  const id = await submit(repo);
  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  const pid = `${id}-p1`;

  // Two patches: the code one untouched by the documentation, the documentation one on top of it.
  const read = (await (await h.api(`/v1/patches/${pid}`)).json()) as { patch: Patch; docs: DocPatch };
  expect(read.patch.files).toEqual(['calc.py']);
  expect(read.patch.diff).not.toContain('c defaults to 0');
  const docs = read.docs;
  expect(docs).toMatchObject({
    id: `${pid}-docs`,
    patchId: pid,
    files: ['CHANGELOG.md', 'README.md', 'calc.py'],
    symbols: [{ name: 'add', file: 'calc.py', before: 'def add(a, b):', after: 'def add(a, b, c=0):' }],
  });
  expect(docs.skipped).toBeUndefined();
  expect(docs.diff).toContain('+    """Return the sum of a, b and c (c defaults to 0)."""');
  expect(docs.diff).toContain('+`add(a, b, c=0)` returns the sum of two or three numbers.');
  expect(docs.diff).toContain('+- `add` takes an optional third term `c`.');
  expect(docs.diff).not.toMatch(/^[-+]\s*return/m); // no code line changes
  expect((await h.client.board.get(keys.docs(pid), DocPatch))?.value.id).toBe(docs.id);

  // One Doc Writer call; it saw the README section and the changelog. One review of it, which saw both diffs.
  const docCalls = h.llm.calls.filter((c) => c.roleHint === 'docwriter');
  expect(docCalls).toHaveLength(1);
  expect(docs.reviews).toEqual([{ verdict: 'approve', comments: 'accurate' }]);
  const reviewCalls = h.llm.calls.filter((c) => c.roleHint === 'docreview');
  expect(reviewCalls).toHaveLength(1);
  expect(JSON.stringify(reviewCalls[0]!.body)).toContain('c defaults to 0');
  const prompt = JSON.stringify(docCalls[0]!.body);
  expect(prompt).toContain('README.md, section \\"## add\\"');
  expect(prompt).toContain('CHANGELOG.md (first lines)');

  // The PR description: every section, the documentation and the policy report named.
  for (const s of PR_SECTIONS) expect(docs.description).toContain(s);
  expect(docs.description).toContain('`README.md` (documentation, its own commit)');
  expect(docs.description).toContain('Bundle `default-1`');
  expect(docs.description).toMatch(/## Tests\n\nPassed/);

  const approved = await h.api(`/v1/patches/${pid}/approve`, { method: 'POST', body: '{}' });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  const branch = `codemesh/${id}`;
  expect(git(repo, 'log', '-1', '--format=%B', branch)).toContain(`Codemesh-Docs: ${pid}-docs`);
  expect(git(repo, 'log', '-1', '--format=%B', `${branch}~1`)).toContain(`Codemesh-Patch: ${pid}`);
  expect(git(repo, 'diff', '--name-only', `${branch}~1`, branch).split('\n').sort()).toEqual([
    'CHANGELOG.md',
    'README.md',
    'calc.py',
  ]);
  expect(git(repo, 'show', `${branch}~1:README.md`)).toContain('`add(a, b)` returns');
  expect(git(repo, 'show', `${branch}:README.md`)).toContain('`add(a, b, c=0)` returns');
  expect(git(repo, 'show', `${branch}:calc.py`)).toContain('c defaults to 0');
});

it('asks no model when the patch changes no public signature', { timeout: 240_000 }, async () => {
  h.setScript((req) =>
    req.roleHint === 'planner'
      ? { usage: USAGE, content: JSON.stringify(PLAN) }
      : req.roleHint === 'reviewer'
        ? APPROVE
        : { usage: USAGE, content: BODY_ONLY_EDIT },
  );
  const before = h.llm.calls.filter((c) => c.roleHint === 'docwriter').length;
  const id = await submit(docsRepo());
  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  const { docs } = (await (await h.api(`/v1/patches/${id}-p1`)).json()) as { docs: DocPatch };
  expect(docs).toMatchObject({
    files: [],
    diff: '',
    skipped: 'the patch changes no public function signature',
  });
  for (const s of PR_SECTIONS) expect(docs.description).toContain(s);
  expect(h.llm.calls.filter((c) => c.roleHint === 'docwriter').length).toBe(before);
});

it('refuses documentation edits that change code, and revises once when the reviewer model asks', {
  timeout: 240_000,
}, async () => {
  let docTurn = 0;
  let reviewTurn = 0;
  h.setScript((req) => {
    if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(PLAN) };
    if (req.roleHint === 'reviewer') return APPROVE;
    if (req.roleHint === 'docreview') return reviewTurn++ === 0 ? DOC_REVISE : DOC_APPROVE;
    if (req.roleHint === 'docwriter')
      return { usage: USAGE, content: docTurn++ === 0 ? SNEAKY_EDIT : DOC_EDIT };
    return { usage: USAGE, content: CODE_EDIT };
  });
  const before = h.llm.calls.length;
  const id = await submit(docsRepo());
  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  const { docs } = (await (await h.api(`/v1/patches/${id}-p1`)).json()) as { docs: DocPatch };
  const calls = h.llm.calls.slice(before);
  const docCalls = calls.filter((c) => c.roleHint === 'docwriter');
  // 1: the sneaky edit, refused before any review; 2: the right edit, reviewed "revise"; 3: again, approved.
  expect(docCalls).toHaveLength(3);
  const second = JSON.stringify(docCalls[1]!.body);
  expect(second).toContain('the code of calc.py changed (only comments and docstrings may)');
  expect(JSON.stringify(docCalls[2]!.body)).toContain('The CHANGELOG entry must name the default of c.');
  expect(calls.filter((c) => c.roleHint === 'docreview')).toHaveLength(2);
  expect(docs.reviews?.map((r) => r.verdict)).toEqual(['revise', 'approve']);
  expect(docs.diff).not.toContain('a + b + c + 1');
  expect(docs.diff).toContain('c defaults to 0');
  expect(docs.files).toEqual(['CHANGELOG.md', 'README.md', 'calc.py']);
  expect(docs.description).toContain('Approved by the reviewer model after 1 revision.');
});

it('drops the documentation the reviewer model rejects twice; the code patch still reaches the gate', {
  timeout: 240_000,
}, async () => {
  h.setScript((req) =>
    req.roleHint === 'planner'
      ? { usage: USAGE, content: JSON.stringify(PLAN) }
      : req.roleHint === 'reviewer'
        ? APPROVE
        : req.roleHint === 'docreview'
          ? DOC_REVISE
          : req.roleHint === 'docwriter'
            ? { usage: USAGE, content: DOC_EDIT }
            : { usage: USAGE, content: CODE_EDIT },
  );
  const id = await submit(docsRepo());
  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  const { docs } = (await (await h.api(`/v1/patches/${id}-p1`)).json()) as { docs: DocPatch };
  expect(docs).toMatchObject({
    diff: '',
    files: [],
    skipped: 'the reviewer rejected the documentation: The CHANGELOG entry must name the default of c.',
  });
  expect(docs.reviews).toHaveLength(2);
  const approved = await h.api(`/v1/patches/${id}-p1/approve`, { method: 'POST', body: '{}' });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
});
