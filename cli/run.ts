// `codemesh run`: one task from intake to an approved commit on codemesh/<task-id>, with live progress.
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareTask, publishTask } from '../actors/conductor/submit.ts';
import { RepoPathRefusedError } from '../actors/conductor/repo-policy.ts';
import {
  checkIssueHost,
  createGitHub,
  findCheckout,
  GitHubConfigError,
  gitHubSettingsFromEnv,
  issueTaskText,
} from '../actors/integrator/github/index.ts';
import { ModelError } from '../actors/llm/index.ts';
import { type EmbeddedMesh, startEmbedded } from '../actors/mesh.ts';
import { openRecord } from '../actors/recorder/index.ts';
import { RepoNotFoundError } from '../actors/runtime/git.ts';
import { pruneStaleWorktrees } from '../actors/runtime/worktrees.ts';
import { connectMesh, type MeshConnection } from '../blackboard/index.ts';
import { createGateway, serveGateway } from '../gateway/index.ts';
import { attemptsLeft } from '../actors/conductor/workflow.ts';
import {
  ApproveMode,
  Gate,
  IssueUrl,
  keys,
  Patch,
  Review,
  TaskRecord,
  TaskRequest,
  type TaskRequestInput,
} from '../schemas/index.ts';
import { parseLimits } from './budget-flags.ts';
import { UsageError } from './errors.ts';
import {
  approvalCommands,
  type GateOutcome,
  gatePrompt,
  interruptReport,
  linePrompter,
  type Prompter,
  type TokenSource,
} from './gate-prompt.ts';
import { checkModels } from './preflight.ts';
import { LiveStatus, wantsLiveStatus } from './live-status.ts';
import { renderEvent, type Totals } from './progress.ts';
import { settingsFromEnv } from './settings.ts';
import { acquireStateLock, StateDirBusyError, type StateLock } from './state-lock.ts';

export { RUN_USAGE } from './usage-text.js';
import { RUN_USAGE } from './usage-text.js';

/**
 * `--issue-url`: the issue's text from GitHub (CODEMESH_GITHUB_*), and its checkout: `--repo`, else the one
 * `CODEMESH_GITHUB_REPOS` maps it to, else the current directory when its remote is that repository.
 */
async function readIssueForRun(url: string, repo: string | undefined) {
  const ref = IssueUrl.safeParse(url);
  if (!ref.success) throw new UsageError(`--issue-url: ${ref.error.issues[0]!.message}`);
  let settings: ReturnType<typeof gitHubSettingsFromEnv>;
  let github: ReturnType<typeof createGitHub>;
  try {
    // A contradictory or incomplete GitHub setting (or an App key that is no key) names the setting.
    settings = gitHubSettingsFromEnv(process.env);
    checkIssueHost(settings, ref.data);
    github = createGitHub(settings);
  } catch (err) {
    if (err instanceof GitHubConfigError) throw new UsageError(`--issue-url: ${err.message}`);
    throw err;
  }
  const coords = { owner: ref.data.owner, repo: ref.data.repo };
  const checkout = repo ?? (await findCheckout(settings, coords, [process.cwd()]));
  if (!checkout)
    throw new UsageError(
      `--issue-url: no checkout of ${coords.owner}/${coords.repo} known: pass --repo, or map it in CODEMESH_GITHUB_REPOS`,
    );
  const text = issueTaskText(await github.readIssue(ref.data));
  return { repo: checkout, issueUrl: ref.data.url, ...text };
}

/**
 * The task request `codemesh run` submits, from its flags (and the GitHub issue when `--issue-url` is given).
 * Throws UsageError for a bad flag, before anything starts.
 */
export async function runRequest(argv: string[]): Promise<TaskRequestInput> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string', default: '' },
      approve: { type: 'string', default: 'manual' },
      gate: { type: 'string', multiple: true },
      base: { type: 'string' },
      'max-attempts': { type: 'string' },
      'max-cost-usd': { type: 'string' },
      'soft-budget': { type: 'string' },
      'hard-budget': { type: 'string' },
      push: { type: 'boolean', default: false },
      candidates: { type: 'string' },
      docs: { type: 'boolean' },
      'issue-url': { type: 'string' },
    },
    strict: true,
  });
  const issue = values['issue-url'] ? await readIssueForRun(values['issue-url'], values.repo) : undefined;
  if (issue) {
    values.repo = issue.repo;
    values.title ??= issue.title;
    if (!values.description) values.description = issue.description;
  }
  if (!values.repo || !values.title)
    throw new UsageError(`--repo and --title (or --issue-url) are required\n${RUN_USAGE}`);
  const approve = ApproveMode.safeParse(values.approve);
  if (!approve.success) throw new UsageError(`--approve takes auto or manual, not "${values.approve}"`);
  const gates: Gate[] = [];
  for (const g of values.gate ?? []) {
    const parsed = Gate.safeParse(g);
    if (!parsed.success)
      throw new UsageError(
        `--gate takes ${Gate.options.join(', ')}, not "${g}" (pre-integrate is --approve manual)`,
      );
    if (!gates.includes(parsed.data)) gates.push(parsed.data);
  }
  const input: TaskRequestInput = {
    repo: values.repo,
    title: values.title,
    description: values.description,
    approve: approve.data,
    ...(gates.length ? { gates } : {}),
    baseRef: values.base,
    budget: {
      ...(values['max-attempts'] ? { maxAttempts: Number(values['max-attempts']) } : {}),
      ...(values['max-cost-usd'] ? { maxCostUsd: Number(values['max-cost-usd']) } : {}),
      ...(values['soft-budget'] ? { soft: parseLimits('--soft-budget', values['soft-budget']) } : {}),
      ...(values['hard-budget'] ? { hard: parseLimits('--hard-budget', values['hard-budget']) } : {}),
    },
    ...(values.push ? { config: { push: true } } : {}),
    ...(values.candidates !== undefined ? { candidates: Number(values.candidates) } : {}),
    ...(values.docs ? { docs: true } : {}),
    ...(issue ? { issueUrl: issue.issueUrl } : {}),
  };
  // Checked before anything starts or is submitted (NUL bytes, lone surrogates, lengths, budgets).
  const valid = TaskRequest.safeParse(input);
  if (!valid.success) {
    const i = valid.error.issues[0]!;
    const flag =
      i.path[0] === 'baseRef'
        ? 'base'
        : i.path[1] === 'soft' || i.path[1] === 'hard'
          ? `${String(i.path[1])}-budget`
          : String(i.path.at(-1) ?? i.path[0]);
    throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
  }
  return input;
}

export async function cmdRun(argv: string[], out = process.stdout): Promise<number> {
  const input = await runRequest(argv);
  const settings = settingsFromEnv();
  const print = (s: string) => out.write(`${s}\n`);

  try {
    await checkModels(process.env);
  } catch (err) {
    if (err instanceof ModelError) {
      print(`codemesh: no model reachable: ${err.message}`);
      return 3;
    }
    throw err;
  }

  // The local operator may run on any repository of the machine, but never on codemesh's own state dir.
  let task: Awaited<ReturnType<typeof prepareTask>>;
  try {
    task = await prepareTask(input, { placement: { stateDir: settings.dataDir }, reproduce: true });
  } catch (err) {
    if (err instanceof RepoNotFoundError || err instanceof RepoPathRefusedError) {
      print(`codemesh: ${err.message}`);
      return 2;
    }
    throw err;
  }

  // One process owns the state dir. When a `codemesh up` holds it, this run joins that mesh (its NATS, its
  // actors, its record and gateway) instead of starting a second nats-server on the same store.
  let lock: StateLock | undefined;
  let joined: { pid: number; natsUrl?: string; gatewayUrl?: string } | undefined;
  try {
    lock = acquireStateLock(settings.dataDir, 'run');
  } catch (err) {
    if (!(err instanceof StateDirBusyError) || err.holder.command !== 'up' || !err.holder.natsUrl) throw err;
    joined = err.holder;
    print(`codemesh: joining \`codemesh up\` (pid ${err.holder.pid}) at ${err.holder.natsUrl}`);
  }
  // Ctrl-C: stop following, stop the actors (their steps abort), then remove the worktrees this process
  // added to the repository, which stopped steps may not get to; then say what was left.
  const stop = new AbortController();
  let interrupted: Promise<void> | undefined;
  let embedded: EmbeddedMesh | undefined;
  let mesh: MeshConnection | undefined;
  let record: Awaited<ReturnType<typeof openRecord>> | undefined;
  let gateway: Awaited<ReturnType<typeof serveGateway>> | undefined;
  let tokenFile: string | undefined;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    print(`codemesh: ${signal}, stopping`);
    stop.abort();
    interrupted = (async () => {
      const status = await mesh?.board
        .get(keys.task(task.id), TaskRecord)
        .then((e) => e?.value.status)
        .catch(() => undefined);
      const natsPid = embedded?.server?.pid;
      await embedded?.stop().catch(() => undefined);
      await pruneStaleWorktrees(resolve(settings.dataDir), { includeOwn: true }).catch(() => undefined);
      const report = interruptReport({
        taskId: task.id,
        status,
        dataDir: resolve(settings.dataDir),
        joinedUp: joined ? { pid: joined.pid, gatewayUrl: joined.gatewayUrl } : undefined,
        externalNats: settings.natsUrl,
        natsPid,
      });
      for (const line of report) print(line);
    })();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  // One reader of the terminal for every question of the run (the gates come one after another).
  const prompter = process.stdin.isTTY ? linePrompter(process.stdin, process.stdout) : undefined;
  try {
    if (!settings.natsUrl && !joined) {
      embedded = await startEmbedded({ dataDir: settings.dataDir });
      lock?.update({ natsUrl: embedded.natsUrl });
    }
    const natsUrl = settings.natsUrl ?? joined?.natsUrl ?? embedded!.natsUrl;
    mesh = await connectMesh({ url: natsUrl, name: 'codemesh-cli' });
    let gatewayUrl = joined?.gatewayUrl ?? '';
    if (!joined) {
      record = await openRecord({
        databaseUrl: process.env.DATABASE_URL || undefined,
        dir: join(settings.dataDir, 'pg'),
      });
      gateway = await serveGateway(
        createGateway({ mesh, record, token: settings.token, stateDir: settings.dataDir }),
        { port: 0, nats: mesh.nc },
      );
      gatewayUrl = gateway.url;
    }
    // Printed commands must work as printed: the token's source is named, or written for this run (0600).
    let tokenSource: TokenSource = { env: 'CODEMESH_TOKEN' };
    if (settings.tokenGenerated && joined) tokenSource = { printedBy: 'codemesh up' };
    else if (settings.tokenGenerated && !prompter) {
      tokenFile = join(resolve(settings.dataDir), `run-${task.id}.token`);
      writeFileSync(tokenFile, `${settings.token}\n`, { mode: 0o600 });
      tokenSource = { file: tokenFile };
    }
    await publishTask(mesh, task);
    const code = await follow(mesh, task.id, {
      print,
      gatewayUrl,
      token: settings.token,
      tokenSource,
      prompter,
      signal: stop.signal,
      ...(wantsLiveStatus(out.isTTY, process.env) ? { live: out } : {}),
    });
    return interrupted ? 130 : code;
  } catch (err) {
    if (interrupted) return 130; // the mesh went away under a request
    throw err;
  } finally {
    prompter?.close();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (interrupted) await interrupted;
    if (tokenFile) rmSync(tokenFile, { force: true });
    await gateway?.close();
    await mesh?.close().catch(() => undefined);
    if (!interrupted) await embedded?.stop();
    await record?.close();
    lock?.release();
  }
}

interface FollowIO {
  print: (s: string) => void;
  gatewayUrl: string;
  token: string;
  tokenSource: TokenSource;
  /** Undefined without a terminal: the gates print how to decide over HTTP instead of asking. */
  prompter?: Prompter;
  signal: AbortSignal;
  /** A terminal to draw the live line on (stage, time, tokens, cost), below the event lines. */
  live?: NodeJS.WriteStream;
}

async function follow(mesh: MeshConnection, taskId: string, io: FollowIO): Promise<number> {
  const totals: Totals = { tokens: 0, costUsd: 0 };
  const live = io.live ? new LiveStatus(io.live, totals) : undefined;
  // Event lines go above the live line; a gate's question takes the terminal (the line waits for the next stage).
  const say = live ? (s: string) => live.print(s) : io.print;
  io = { ...io, print: say };
  live?.start();
  const ac = new AbortController();
  io.signal.addEventListener('abort', () => ac.abort(), { once: true });
  let quit: string | undefined;
  const gateDone = (outcome: GateOutcome | 'printed', patchId: string) => {
    if (outcome !== 'quit') return;
    quit = patchId;
    ac.abort();
  };
  try {
    for await (const { event } of mesh.bus.follow(taskId, { signal: ac.signal })) {
      live?.onEvent(event);
      const line = renderEvent(event, totals);
      if (line) io.print(line);
      if ((event.type === 'approval.requested' || event.type === 'plan.approval_requested') && io.prompter)
        live?.pause();
      if (event.type === 'approval.requested') {
        const pid = String(event.data.patchId);
        void askApproval(mesh, taskId, pid, io).then(
          (o) => gateDone(o, pid),
          (err) => io.print(`codemesh: the gate could not ask: ${(err as Error).message}`),
        );
      }
      if (event.type === 'plan.approval_requested') void askPlanApproval(taskId, io);
      if (event.type === 'budget.paused') {
        const url = `${io.gatewayUrl}/v1/tasks/${taskId}/budget`;
        const curl = `curl -X POST -H 'Authorization: Bearer <CODEMESH_TOKEN>' -H 'content-type: application/json'`;
        io.print(
          `raise with: ${curl} -d '{"action":"raise","soft":{"modelCalls":100}}' ${url} (soft keys: tokens, usd, wallSeconds, modelCalls); stop with: ${curl} -d '{"action":"stop"}' ${url}`,
        );
      }
      if (event.type === 'task.completed') {
        io.print(
          `✔ done: branch ${event.data.branch} (${totals.tokens} tokens, $${totals.costUsd.toFixed(4)})`,
        );
        ac.abort();
        return 0;
      }
      if (event.type === 'task.failed') {
        io.print(`✘ failed: ${event.data.reason} (${totals.tokens} tokens, $${totals.costUsd.toFixed(4)})`);
        ac.abort();
        return 1;
      }
      // k candidates and none earned selection: no patch, with the evidence (exit 4, not a failure of the mesh).
      if (event.type === 'task.abstained') {
        io.print(
          `∅ abstained: ${event.data.reason} (${totals.tokens} tokens, $${totals.costUsd.toFixed(4)})`,
        );
        ac.abort();
        return 4;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    live?.stop();
  }
  if (quit) {
    io.print(
      `codemesh: left task ${taskId} waiting at the gate with patch ${quit}; it is kept in the state dir, and \`codemesh up\` on it lets you decide over HTTP or in the console`,
    );
    return 0;
  }
  return 1;
}

/** On a terminal, shows the diff and risks and asks; otherwise prints how to decide over HTTP. */
async function askApproval(
  mesh: MeshConnection,
  taskId: string,
  patchId: string,
  io: FollowIO,
): Promise<GateOutcome | 'printed'> {
  if (!io.prompter) {
    for (const line of approvalCommands(io.gatewayUrl, patchId, io.tokenSource)) io.print(line);
    return 'printed';
  }
  const [task, patch] = await Promise.all([
    mesh.board.get(keys.task(taskId), TaskRecord),
    mesh.board.get(keys.patch(patchId), Patch),
  ]);
  const review = patch ? await mesh.board.get(keys.review(taskId, patch.value.attempt), Review) : undefined;
  const t = task?.value;
  const failed = t?.revisionFailed?.patchId === patchId ? t.revisionFailed : undefined;
  return gatePrompt(
    {
      patchId,
      summary: patch?.value.summary,
      diff: patch?.value.diff ?? '(the patch is not on the blackboard)',
      review: review?.value,
      policy: patch?.value.policy,
      others: (t?.approvable ?? []).filter((p) => p !== patchId),
      revisionFailed: failed,
      nextAttempt: t && attemptsLeft(t.workflow) ? t.attempt + 1 : undefined,
    },
    {
      prompter: io.prompter,
      write: (s) => process.stdout.write(s),
      tty: process.stdout.isTTY === true,
      rows: process.stdout.rows || 24,
    },
    async (decision, comment) => {
      const res = await fetch(`${io.gatewayUrl}/v1/patches/${patchId}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${io.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision, comment }),
      });
      if (res.ok) return undefined;
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      return `${res.status} ${body.error?.code ?? ''}${body.error?.message ? `: ${body.error.message}` : ''}`;
    },
  );
}

/** The `post-plan` gate on the terminal: approve or reject the plan as printed (edits: the API or console). */
async function askPlanApproval(taskId: string, io: FollowIO): Promise<void> {
  const url = `${io.gatewayUrl}/v1/tasks/${taskId}/plan/approve`;
  if (!io.prompter) {
    io.print(
      `read the plan and its context: GET ${io.gatewayUrl}/v1/tasks/${taskId}/plan; approve with: curl -X POST -H 'Authorization: Bearer <CODEMESH_TOKEN>' -H 'content-type: application/json' -d '{"decision":"approve"}' ${url} (add "plan": {...} to approve an edited plan)`,
    );
    return;
  }
  for (;;) {
    const raw = await io.prompter.ask('Approve the plan? [y]es / [n]o, reject the task: ');
    if (raw === undefined) return;
    const answer = raw.trim().toLowerCase();
    if (!['y', 'yes', 'n', 'no'].includes(answer)) {
      io.print(`Unknown answer "${raw.trim().slice(0, 40)}": y approves the plan, n rejects the task.`);
      continue;
    }
    const approve = answer === 'y' || answer === 'yes';
    const comment = approve ? '' : ((await io.prompter.ask('Why? ')) ?? '');
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${io.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: approve ? 'approve' : 'reject', comment }),
    });
    if (!res.ok) io.print(`plan decision not recorded: ${res.status} ${await res.text()}`);
    return;
  }
}
