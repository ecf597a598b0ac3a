// The replay model: an OpenAI-compatible server on loopback that answers each agent of the mesh with an
// instance's known-correct answer (a plan, the known fix as the Coder's edit blocks, an approving review),
// so everything around the model runs on real code over the real wire. It recognises the instance by its
// task text in the prompt and reports usage as the prompt's characters / 4.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { diffSections, gitEnv } from '../runtime/git.ts';
import { diffToEditBlocks, parseUnifiedDiff } from './replay-edits.ts';
import { ModelConfigError } from './errors.ts';
import { parseRoleMarker } from './types.ts';

/** One instance the replay model knows. */
export interface ReplayCase {
  id: string;
  /** The task text (e.g. an issue's problem statement); found in a prompt, it names the case. */
  task: string;
  /** The known-correct fix, a unified diff against the task's base commit. */
  patch: string;
  /**
   * The tests that came with the fix upstream (SWE-bench's `test_patch`), sent with it: the Coder's answer is
   * then the whole pull request. Without them, a fix that changes behaviour old tests pinned is rightly sent
   * back by the Tester as a regression, and no replayed answer can do better.
   */
  tests?: string;
  /** A file as it is at the base commit (undefined: no such file). */
  read(path: string): Promise<string | undefined>;
}

export interface ReplayServer {
  /** `http://127.0.0.1:<port>/v1`: the base URL for the model settings. */
  url: string;
  /** Chat completions answered, per case id. */
  served: Map<string, number>;
  /** Requests that could not be answered (no case matched, bad body), newest last. */
  errors: string[];
  /** Adds cases while running (an eval adds each instance as it starts it). */
  add(c: ReplayCase): void;
  /** Lets the process exit while the server still listens. */
  unref(): void;
  close(): Promise<void>;
}

export const REPLAY_MODEL = 'replay';
const MAX_BODY = 32 * 1024 * 1024;

function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A whitespace-normalized prefix of the task text: long enough to be unique, short enough to survive. */
function fingerprint(text: string): string {
  return normalize(text).slice(0, 240);
}

interface Msg {
  role?: string;
  content?: unknown;
}

function textOf(m: Msg): string {
  return typeof m.content === 'string' ? m.content : '';
}

/**
 * Starts the replay model.
 *
 * @example
 * const replay = await startReplayServer([{ id: 'x-1', task: issueText, patch: gold, read }]);
 * const env = { CODEMESH_LLM_BASE_URL: replay.url, CODEMESH_LLM_MODEL: REPLAY_MODEL };
 */
export async function startReplayServer(cases: ReplayCase[] = []): Promise<ReplayServer> {
  const byPrint = new Map<string, ReplayCase>();
  const blocks = new Map<string, Promise<string>>();
  const served = new Map<string, number>();
  const errors: string[] = [];
  const add = (c: ReplayCase) => byPrint.set(fingerprint(c.task), c);
  cases.forEach(add);

  const find = (messages: Msg[]): ReplayCase | undefined => {
    const text = normalize(
      messages
        .filter((m) => m.role === 'user')
        .map(textOf)
        .join('\n'),
    );
    for (const [print, c] of byPrint) if (text.includes(print)) return c;
    return undefined;
  };

  const answer = async (c: ReplayCase, role: string | undefined): Promise<string> => {
    const files = [
      ...new Set([c.patch, c.tests ?? ''].flatMap((d) => parseUnifiedDiff(d).map(pathOf))),
    ].filter(Boolean);
    const title = c.task.trim().split('\n')[0]!.slice(0, 200) || c.id;
    switch (role) {
      case 'planner':
        return JSON.stringify({
          summary: `Apply the known fix for ${c.id}: ${title}`,
          subtasks: [
            {
              id: 'fix',
              title: `Fix: ${title}`.slice(0, 300),
              description: `Change ${files.join(', ')}.`,
              role: 'coder',
              dependsOn: [],
              successCriteria: ['the tests that reproduce the issue pass', 'no existing test breaks'],
              files,
            },
          ],
          risks: [],
        });
      case 'reviewer':
        return JSON.stringify({
          decision: 'approve',
          confidence: 0.95,
          critique: `The patch is the known fix for ${c.id}.`,
          risks: [],
        });
      case 'coder': {
        let text = blocks.get(c.id);
        if (!text) {
          text = replayEdits(c);
          blocks.set(c.id, text);
        }
        return await text;
      }
      default:
        throw new ReplayError(`the replay model answers planner, coder and reviewer, not "${role ?? '?'}"`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      errors.push(message);
      send(res, err instanceof ReplayError ? 400 : 500, {
        error: { message: `replay: ${message}`, type: 'invalid_request_error', param: null, code: null },
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, {
        object: 'list',
        data: [{ id: REPLAY_MODEL, object: 'model', created: 0, owned_by: 'codemesh' }],
      });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      throw new ReplayError(`no route ${req.method} ${path}`);
    }
    const raw = await readBody(req);
    let body: { model?: string; messages?: Msg[]; stream?: boolean; tools?: unknown[] };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      throw new ReplayError('the request body is not JSON');
    }
    if (body.stream) throw new ReplayError('streaming is not supported; send stream: false');
    if (!Array.isArray(body.messages)) throw new ReplayError('messages must be an array');
    const messages = body.messages;
    const system = messages.find((m) => m.role === 'system');
    const header = req.headers['x-codemesh-role'];
    const role = parseRoleMarker(textOf(system ?? {})) ?? (typeof header === 'string' ? header : undefined);
    const c = find(messages);
    if (!c) throw new ReplayError('no known instance matches the task text of this prompt');
    const content = await answer(c, role);
    served.set(c.id, (served.get(c.id) ?? 0) + 1);
    const promptChars = messages.reduce((n, m) => n + textOf(m).length, 0);
    const usage = {
      prompt_tokens: Math.ceil(promptChars / 4),
      completion_tokens: Math.ceil(content.length / 4),
    };
    return send(res, 200, {
      id: `chatcmpl-replay-${Date.now().toString(36)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? REPLAY_MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    served,
    errors,
    add,
    unref: () => void server.unref(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const pathOf = (f: { oldPath?: string; newPath?: string }) => f.newPath ?? f.oldPath ?? '';

/** The fix as edit blocks, then its tests (files the fix itself touches are left to the fix). */
async function replayEdits(c: ReplayCase): Promise<string> {
  const fix = await diffToEditBlocks(c.patch, c.read);
  if (!c.tests?.trim()) return fix.text;
  const own = new Set(parseUnifiedDiff(c.patch).map(pathOf));
  const files = parseUnifiedDiff(c.tests).filter((f) => !own.has(pathOf(f)));
  if (!files.length) return fix.text;
  const tests = await diffToEditBlocks(onlyFiles(c.tests, new Set(files.map(pathOf))), c.read);
  return `${fix.text.trimEnd()}\n\n${tests.text}`;
}

/** The parts of a unified diff that touch the given paths (by their `diff --git` sections). */
function onlyFiles(diff: string, paths: Set<string>): string {
  return diffSections(diff, (p) => paths.has(p));
}

/** A request the replay model cannot answer (400, not retried). */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  readonly code = 'REPLAY';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ReplayError('the request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The cases of a SWE-bench JSON-lines dataset (instance_id, repo, base_commit, problem_statement, patch), with
 * files read from `<repos>/<owner>__<name>` at the base commit. Bad lines are skipped; no usable line at all
 * is a `ModelConfigError`.
 */
export function replayCasesFromDataset(dataset: string, repos: string, withTests = true): ReplayCase[] {
  if (!existsSync(dataset)) throw new ModelConfigError(`CODEMESH_REPLAY_DATASET: ${dataset} does not exist`);
  const cases: ReplayCase[] = [];
  for (const line of readFileSync(dataset, 'utf8').split('\n')) {
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const { instance_id: id, repo, base_commit: base, problem_statement: task, patch, test_patch } = row;
    if (![id, repo, base, task, patch].every((v) => typeof v === 'string')) continue;
    if (!/^[0-9a-f]{40}$/.test(base as string) || !/^[\w.-]+\/[\w.-]+$/.test(repo as string)) continue;
    const gitDir = join(repos, (repo as string).replace('/', '__'));
    cases.push({
      id: id as string,
      task: task as string,
      patch: patch as string,
      ...(typeof test_patch === 'string' && withTests ? { tests: test_patch } : {}),
      read: (path) =>
        new Promise((resolve) =>
          // Hardened (the repository's config is untrusted): no textconv, no lazy fetch, no hooks or helpers.
          execFile(
            'git',
            ['-C', gitDir, '--no-pager', 'cat-file', 'blob', `${base}:${path}`],
            { maxBuffer: 64 << 20, env: gitEnv() },
            (err, out) => resolve(err ? undefined : out),
          ),
        ),
    });
  }
  if (!cases.length) throw new ModelConfigError(`CODEMESH_REPLAY_DATASET: no usable rows in ${dataset}`);
  return cases;
}
