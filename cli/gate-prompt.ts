// The patch gate on a terminal: the diff (paged, coloured on a TTY) and the review's risks before the question,
// `[y]es / [n]o / [d]iff / [r]isks / [q]uit`, a comment and a confirmation before a change request, and any
// other answer asks again (it is never taken as a decision, let alone sent to the Coder as a comment).
import type { PolicyReport } from '../schemas/index.ts';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Asks one question and returns the answer line (undefined: the input ended, e.g. Ctrl-D). */
export interface Prompter {
  ask(question: string): Promise<string | undefined>;
  close(): void;
}

/**
 * Lines of `input` as answers. Lines are buffered, so answers typed (or piped) before their question are kept.
 * @example const p = linePrompter(process.stdin, process.stdout); const a = await p.ask('Approve? ');
 */
export function linePrompter(input: Readable, output: Writable): Prompter {
  const rl = createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question) {
      output.write(question);
      const next = await lines.next();
      return next.done ? undefined : String(next.value);
    },
    close: () => rl.close(),
  };
}

export interface GateRisk {
  level: string;
  note: string;
}

/** What the gate shows about the patch at hand. */
export interface GateView {
  patchId: string;
  summary?: string;
  diff: string;
  review?: {
    decision: string;
    /** The Reviewer model's own confidence. */
    confidence: number;
    /** The calibrated confidence (actors/reviewer/confidence.ts), when the review has one. */
    calibration?: { calibrated: number };
    critique: string;
    risks: GateRisk[];
  };
  /** The patch's policy report (findings by kind, each with its enforcement and remediation). */
  policy?: PolicyReport;
  /** Other patches that may be approved too (the one kept from a change request). */
  others: string[];
  /** Why the task is back at the gate with this patch (a revision failed). */
  revisionFailed?: { attempt: number; reason: string };
  /** The attempt a change request would start; undefined when none is left. */
  nextAttempt?: number;
}

export interface GateIO {
  prompter: Prompter;
  write(text: string): void;
  /** Colours and paging: only on a terminal. */
  tty: boolean;
  /** Lines per page on a terminal. */
  rows: number;
}

/** Records a decision; returns why it was not recorded (the gateway's answer), or undefined. */
export type Decide = (
  decision: 'approve' | 'request_changes',
  comment: string,
) => Promise<string | undefined>;

export type GateOutcome = 'approved' | 'changes_requested' | 'quit';

const KEYS =
  'y approves, n requests changes, d shows the diff, r the risks, q quits (the task keeps waiting)';

export async function gatePrompt(view: GateView, io: GateIO, decide: Decide): Promise<GateOutcome> {
  const say = (line = '') => io.write(`${line}\n`);
  if (view.revisionFailed)
    say(
      `The revision (attempt ${view.revisionFailed.attempt}) failed: ${view.revisionFailed.reason}\nBack at the gate with ${view.patchId}, which passed its tests and review.`,
    );
  say(`Patch ${view.patchId}${view.summary ? `: ${view.summary}` : ''}`);
  if (!(await showDiff(view.diff, io))) return 'quit';
  showRisks(view, io);
  if (view.others.length) say(`Also approvable (over HTTP or in the console): ${view.others.join(', ')}`);
  for (;;) {
    const raw = await io.prompter.ask(
      `Approve patch ${view.patchId}? [y]es / [n]o / [d]iff / [r]isks / [q]uit: `,
    );
    if (raw === undefined) return 'quit';
    const answer = raw.trim().toLowerCase();
    if (answer === 'y' || answer === 'yes') {
      const refused = await decide('approve', '');
      if (!refused) return 'approved';
      say(`Not recorded: ${refused}`);
    } else if (answer === 'n' || answer === 'no') {
      const outcome = await requestChanges(view, io, decide);
      if (outcome) return outcome;
    } else if (answer === 'd' || answer === 'diff') {
      if (!(await showDiff(view.diff, io))) return 'quit';
    } else if (answer === 'r' || answer === 'risks') {
      showRisks(view, io);
    } else if (answer === 'q' || answer === 'quit') {
      return 'quit';
    } else if (answer === '?' || answer === 'h' || answer === 'help') {
      say(KEYS);
    } else {
      say(`${answer ? `Unknown answer "${raw.trim().slice(0, 40)}"` : 'No answer'}: ${KEYS}.`);
    }
  }
}

/** Asks what should change (again while empty), then for confirmation; undefined: back to the question. */
async function requestChanges(view: GateView, io: GateIO, decide: Decide): Promise<GateOutcome | undefined> {
  const say = (line: string) => io.write(`${line}\n`);
  if (view.nextAttempt === undefined) {
    say(`No attempt is left for a revision: approve ${view.patchId} or quit.`);
    return undefined;
  }
  let comment = '';
  for (let empty = 0; comment === ''; ) {
    const raw = await io.prompter.ask('What should change? (sent to the Coder) ');
    if (raw === undefined) return 'quit';
    comment = raw.trim();
    if (comment) break;
    if (++empty === 2) return undefined;
    say('A change request needs a comment saying what should change (an empty answer again goes back).');
  }
  const sure = await io.prompter.ask(
    `Send this to the Coder and start attempt ${view.nextAttempt} (${view.patchId} stays approvable)? [y/N] `,
  );
  if (sure === undefined) return 'quit';
  if (!['y', 'yes'].includes(sure.trim().toLowerCase())) {
    say('Not sent.');
    return undefined;
  }
  const refused = await decide('request_changes', comment);
  if (!refused) return 'changes_requested';
  say(`Not recorded: ${refused}`);
  return undefined;
}

function showRisks(view: GateView, io: GateIO): void {
  const r = view.review;
  if (!r) {
    io.write('No review on record for this patch.\n');
    return;
  }
  const badge = (level: string) =>
    io.tty ? `${level === 'high' ? RED : level === 'medium' ? YELLOW : DIM}${level}${RESET}` : level;
  const lines = [
    `Review: ${r.decision} (${r.calibration ? `calibrated confidence ${r.calibration.calibrated.toFixed(2)}, the Reviewer's own ${r.confidence.toFixed(2)}` : `confidence ${r.confidence.toFixed(2)}`}) — ${r.critique}`,
    r.risks.length ? 'Risks:' : 'Risks: none named by the Reviewer',
    ...r.risks.map((k) => `  - [${badge(k.level)}] ${k.note}`),
  ];
  io.write(`${[...lines, ...policyLines(view.policy)].join('\n')}\n`);
}

/** The policy report as the gate shows it: counts by kind, then each finding with what to do. */
export function policyLines(report: PolicyReport | undefined): string[] {
  if (!report) return [];
  const c = report.counts;
  const head = `Policy (${report.bundle}): ${report.findings.length} finding(s) — secret ${c.secret}, sast ${c.sast}, license ${c.license}, vulnerability ${c.vulnerability}${report.override ? ` — overridden by ${report.override.by}: ${report.override.reason}` : ''}`;
  return [
    head,
    ...report.findings
      .slice(0, 30)
      .map(
        (f) =>
          `  - [${f.enforcement}] ${f.ruleId}${f.cwe ? ` ${f.cwe}` : ''} ${f.file}${f.line ? `:${f.line}` : ''}: ${f.message} → ${f.remediation}`,
      ),
    ...(report.findings.length > 30 ? [`  (and ${report.findings.length - 30} more)`] : []),
    ...report.notes.map((n) => `  note: ${n}`),
  ];
}

/** Prints the diff, a page at a time on a terminal; false when the input ended while paging. */
async function showDiff(diff: string, io: GateIO): Promise<boolean> {
  const lines = diff.replace(/\n$/, '').split('\n');
  const shown = io.tty ? lines.map(colourDiffLine) : lines;
  const page = Math.max(5, io.rows - 2);
  if (!io.tty || shown.length <= page) {
    io.write(`${shown.join('\n')}\n`);
    return true;
  }
  for (let i = 0; i < shown.length; i += page) {
    io.write(`${shown.slice(i, i + page).join('\n')}\n`);
    if (i + page >= shown.length) break;
    const more = await io.prompter.ask(
      `-- ${Math.min(i + page, shown.length)}/${shown.length} lines; Enter: more, q: enough --`,
    );
    if (more === undefined) return false;
    if (more.trim().toLowerCase() === 'q') break;
  }
  return true;
}

const RED = '\u001b[31m';
const GREEN = '\u001b[32m';
const YELLOW = '\u001b[33m';
const CYAN = '\u001b[36m';
const BOLD = '\u001b[1m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export function colourDiffLine(line: string): string {
  if (line.startsWith('diff --git') || line.startsWith('index ')) return `${DIM}${line}${RESET}`;
  if (line.startsWith('+++') || line.startsWith('---')) return `${BOLD}${line}${RESET}`;
  if (line.startsWith('@@')) return `${CYAN}${line}${RESET}`;
  if (line.startsWith('+')) return `${GREEN}${line}${RESET}`;
  if (line.startsWith('-')) return `${RED}${line}${RESET}`;
  return line;
}

/**
 * Where the bearer token of a printed command comes from, as shell text: the environment variable, a file
 * this run wrote (mode 0600), or the token `codemesh up` printed.
 */
export type TokenSource = { env: 'CODEMESH_TOKEN' } | { file: string } | { printedBy: 'codemesh up' };

/** The commands that decide at the gate over HTTP, usable as printed (without a terminal to ask on). */
export function approvalCommands(gatewayUrl: string, patchId: string, token: TokenSource): string[] {
  const bearer =
    'env' in token
      ? `"Authorization: Bearer $${token.env}"`
      : 'file' in token
        ? `"Authorization: Bearer $(cat '${token.file.replaceAll("'", "'\\''")}')"`
        : '"Authorization: Bearer <the token codemesh up printed>"';
  const url = `${gatewayUrl}/v1/patches/${patchId}/approve`;
  const curl = (body: string) =>
    `  curl -X POST -H ${bearer} -H 'content-type: application/json' -d '${body}' ${url}`;
  const where =
    'env' in token
      ? 'the token is $CODEMESH_TOKEN'
      : 'file' in token
        ? `the token is in ${token.file}, written for this run`
        : 'the token is the one `codemesh up` printed';
  return [
    `approve with (${where}; the gateway lives as long as this run):`,
    curl('{"decision":"approve"}'),
    'or request changes (the comment is required: it is what the Coder gets):',
    curl('{"decision":"request_changes","comment":"<what should change>"}'),
  ];
}

/** What Ctrl-C left behind, said before exiting. */
export function interruptReport(s: {
  taskId?: string;
  status?: string;
  dataDir: string;
  /** Joined a running `codemesh up`: the task goes on there. */
  joinedUp?: { pid: number; gatewayUrl?: string };
  /** NATS_URL was given: the task's state stays there, with whatever actors run on it. */
  externalNats?: string;
  natsPid?: number;
}): string[] {
  const task = s.taskId ? `task ${s.taskId}${s.status ? ` (${s.status})` : ''}` : 'no task was submitted';
  if (s.joinedUp)
    return [
      `codemesh: stopped following; ${task} keeps running in \`codemesh up\` (pid ${s.joinedUp.pid})${s.joinedUp.gatewayUrl && s.taskId ? `: ${s.joinedUp.gatewayUrl}/console/#/tasks/${s.taskId}` : ''}`,
    ];
  if (s.externalNats)
    return [
      `codemesh: stopped this run's actors and gateway; ${task} stays on ${s.externalNats}, where other actors may carry it on`,
    ];
  return [
    `codemesh: stopped this run's actors, gateway and nats-server${s.natsPid ? ` (pid ${s.natsPid})` : ''}, and removed its worktrees; nothing of it is left running`,
    ...(s.taskId
      ? [
          `codemesh: ${task} is kept in ${s.dataDir}; \`CODEMESH_HOME=${s.dataDir} codemesh up\` carries it on`,
        ]
      : []),
  ];
}
