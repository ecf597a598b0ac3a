// The live line of `codemesh run` on a terminal: a spinner with the stage the task is in, the time it has
// taken (in all and in this stage), and the tokens and cost spent so far — from the first second, redrawn in
// place below the event lines, and out of the way while a gate asks its question.
import type { TaskEvent } from '../schemas/index.ts';
import type { Totals } from './progress.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STAGES: Record<string, string> = {
  plan: 'planning',
  code: 'coding',
  test: 'testing',
  review: 'reviewing',
  docs: 'documenting',
  integrate: 'integrating',
  rollback: 'rolling back',
};
/** Erase the current line, cursor to its start. */
const CLEAR = '\r\u001b[2K';

export interface LiveState {
  startedAt: number;
  stage: string;
  stageSince: number;
  /** At a gate (a question is being asked): the line is not drawn. */
  paused: boolean;
}

/** `1:05`, `12:03`, `1:02:03`. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** The line for a state at `now`: `⠹ testing #1 0:12 · 1:05 in all · 1,234 tokens · $0.0123`. */
export function statusLine(s: LiveState, totals: Totals, now: number, frame: number): string {
  const spin = FRAMES[frame % FRAMES.length]!;
  return `${spin} ${s.stage} ${clock(now - s.stageSince)} · ${clock(now - s.startedAt)} in all · ${totals.tokens.toLocaleString('en-US')} tokens · $${totals.costUsd.toFixed(4)}`;
}

/** The stage an event starts, or undefined when it starts none. */
export function stageOf(e: TaskEvent): string | undefined {
  const attempt = e.step ? ` #${e.step.attempt}${e.step.part ? ` ${e.step.part}` : ''}` : '';
  if (e.type === 'step.awarded' && e.step) return `${STAGES[e.step.kind] ?? e.step.kind}${attempt}`;
  if (e.type === 'task.created') return 'waiting for a planner';
  if (e.type === 'budget.paused') return 'paused at the budget gate';
  return undefined;
}

export interface LiveOut {
  write(s: string): unknown;
  columns?: number;
}

/**
 * Draws the live line on `out` and prints event lines above it. `start` draws every `intervalMs`; a gate's
 * question calls `pause` (the line is erased and stays so until the next stage starts); `stop` erases it.
 */
export class LiveStatus {
  private readonly state: LiveState;
  private frame = 0;
  private timer?: ReturnType<typeof setInterval>;
  private drawn = false;

  constructor(
    private readonly out: LiveOut,
    private readonly totals: Totals,
    private readonly now: () => number = Date.now,
  ) {
    const t = now();
    this.state = { startedAt: t, stage: 'starting', stageSince: t, paused: false };
  }

  start(intervalMs = 125): void {
    this.draw();
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref?.();
  }

  /** Follows the task's events: a new stage resets the stage clock and resumes a paused line. */
  onEvent(e: TaskEvent): void {
    const stage = stageOf(e);
    if (!stage) return;
    this.state.stage = stage;
    this.state.stageSince = this.now();
    this.state.paused = false;
  }

  /** Prints a line above the live line. */
  print(line: string): void {
    this.erase();
    this.out.write(`${line}\n`);
    this.draw();
  }

  pause(): void {
    this.erase();
    this.state.paused = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
    this.state.paused = true;
  }

  /** Redraws the line now (the timer calls it). */
  draw(): void {
    if (this.state.paused) return;
    const width = Math.max(20, (this.out.columns ?? 100) - 1);
    const line = statusLine(this.state, this.totals, this.now(), this.frame++);
    this.out.write(`${CLEAR}${[...line].slice(0, width).join('')}`);
    this.drawn = true;
  }

  private erase(): void {
    if (!this.drawn) return;
    this.out.write(CLEAR);
    this.drawn = false;
  }
}

/** Whether `codemesh run` draws the live line: on a terminal, unless `CODEMESH_PROGRESS=plain` or `TERM=dumb`. */
export function wantsLiveStatus(
  isTTY: boolean | undefined,
  env: Record<string, string | undefined>,
): boolean {
  return isTTY === true && env.CODEMESH_PROGRESS !== 'plain' && env.TERM !== 'dumb';
}
