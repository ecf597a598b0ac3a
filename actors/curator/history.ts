// The repository's own history as evidence (BugLocator-style): past commits whose messages resemble the
// query point at the files they changed, and how often a file changed is a prior. Only ancestors of the
// indexed commit are read, so an index never sees a fix made after it.
import { git } from '../runtime/git.ts';
import { Bm25Index } from './bm25.ts';
import { addTerms } from './tokenize.ts';

export interface PastCommit {
  sha: string;
  /** Paths the commit changed (a merge: against its first parent; renames as delete + add). */
  files: string[];
}

/** Ticket, issue and pull-request numbers a text cites: `#1234`, `ticket:1234`, `/issues/1234`, `gh-1234`. */
export function citedNumbers(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:#|\bticket[:/ ]*#?|\/(?:issues|pull|ticket)\/|\bgh-?)(\d{2,6})\b/gi))
    out.add(m[1]!);
  return [...out];
}

/** Hex words that may be commit ids (7 to 40 characters, at least one digit and one letter). */
export function citedShas(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b[0-9a-f]{7,40}\b/g))
    if (/\d/.test(m[0]) && /[a-f]/.test(m[0])) out.add(m[0]);
  return [...out];
}

/** Commits touching more files than this are sweeping changes (formatting, renames): no evidence. */
const MAX_FILES = 30;
/** Newest commits read per history; older ones add little and cost memory. */
const MAX_COMMITS = 50_000;
/**
 * Commit messages kept per file for its history profile (the newest). Measured on the localization dev set
 * (3-fold, fit on one third): 50 → 59.7 / 78.0 / 84.3, 200 → 60.1 / 78.5 / 84.9, 1000 → 60.7 / 78.1 / 85.4.
 */
const PROFILE_COMMITS = 1000;
/** Commits of more files than this say little about which files belong together. */
const MAX_CO_FILES = 10;
/** How many of the most similar past commits vote for their files. */
const TOP_COMMITS = 30;
/** The "recent churn" window, in commits. */
const RECENT = 1000;
const SEP_COMMIT = '\x01';
const SEP_BODY = '\x02';

/** Where a repository's git log is kept between processes (`SnapshotStore`). */
export interface HistoryLogCache {
  loadHistoryLog(): { commit: string; commits: HistoryLog['commits'] } | undefined;
  saveHistoryLog(commit: string, commits: HistoryLog['commits']): void;
}

export interface HistoryLog {
  commits: Array<PastCommit & { message: string }>;
  /** Set when git stopped early (a mirror missing some trees): the commits read before that are kept. */
  warning?: string;
}

/** Commits of `range` (newest first) with their messages and changed paths. */
export async function readLog(repoPath: string, range: string[], max = MAX_COMMITS): Promise<HistoryLog> {
  // Asynchronous: on django this reads ~12 MB from git for a second or two, which must not stall the actors
  // that share the event loop.
  const r = await git(
    repoPath,
    [
      'log',
      // A merge counts with its first-parent diff: the files of the whole pull request, under its title.
      '--diff-merges=first-parent',
      '--no-renames',
      '--name-only',
      `-n${max}`,
      `--format=${SEP_COMMIT}%H%n%s%n%b${SEP_BODY}`,
      ...range,
      '--',
    ],
    { allowFail: true },
  );
  const out = r.stdout;
  const commits: HistoryLog['commits'] = [];
  for (const rec of out.split(SEP_COMMIT)) {
    const end = rec.indexOf(SEP_BODY);
    if (end < 0) continue;
    const head = rec.slice(0, end);
    const nl = head.indexOf('\n');
    const sha = head.slice(0, nl);
    const message = head
      .slice(nl + 1)
      .replace(/^(signed-off-by|co-authored-by|reviewed-by|cc):.*$/gim, '')
      .trim();
    const files = rec
      .slice(end + 1)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (/^[0-9a-f]{40}$/.test(sha)) commits.push({ sha, message, files });
  }
  const warning =
    r.exitCode === 0 ? undefined : `git log stopped early (${r.stderr.trim().split('\n')[0] || r.exitCode})`;
  return { commits, warning };
}

function pushTo(m: Map<string, number[]>, key: string, value: number): void {
  const list = m.get(key);
  if (list) list.push(value);
  else m.set(key, [value]);
}

async function isAncestor(repoPath: string, older: string, newer: string): Promise<boolean> {
  const r = await git(repoPath, ['merge-base', '--is-ancestor', older, newer], { allowFail: true });
  return r.exitCode === 0;
}

/**
 * The past commits of one commit: BM25 over their messages and over each file's history profile, the
 * commits cited by id or by ticket number, co-change lists and per-path change counts.
 *
 * @example
 * const h = await CommitHistory.read(repo, sha);
 * const votes = h.similar(queryTerms(issue)); // path → evidence from similar past changes
 */
export class CommitHistory {
  commit: string;
  warning: string | undefined;
  private readonly lex = new Bm25Index();
  /** Per path, the messages of the last `PROFILE_COMMITS` commits that changed it: what the file is fixed for. */
  private readonly profiles = new Bm25Index();
  private readonly profileMessages = new Map<string, Array<Map<string, number>>>();
  /** Newest last (so a move forward appends). */
  private readonly commits: PastCommit[] = [];
  /** Path → commits (of 2 to `MAX_CO_FILES` files) that changed it; kept up to date by `append`. */
  private readonly coIndex = new Map<string, number[]>();
  /** Cited number → commits whose message cites it; abbreviated id (7 hex) → commits. */
  private readonly byNumber = new Map<string, number[]>();
  private readonly byShortSha = new Map<string, number[]>();
  private churnCache: { all: Map<string, number>; recent: Map<string, number> } | undefined;

  private constructor(commit: string) {
    this.commit = commit;
  }

  /**
   * The history of `commit`. With a `cache`, a log saved for an ancestor of `commit` (or `commit` itself) is
   * reused and only the commits since are read from git; the log of `commit` is then saved in its place.
   */
  static async read(repoPath: string, commit: string, cache?: HistoryLogCache): Promise<CommitHistory> {
    const h = new CommitHistory(commit);
    const saved = cache?.loadHistoryLog();
    let log: HistoryLog | undefined;
    if (saved && saved.commit === commit) log = { commits: saved.commits };
    else if (saved && (await isAncestor(repoPath, saved.commit, commit))) {
      const since = await readLog(repoPath, [`${saved.commit}..${commit}`]);
      if (!since.warning) log = { commits: [...since.commits, ...saved.commits].slice(0, MAX_COMMITS) };
    }
    log ??= await readLog(repoPath, [commit]);
    h.warning = log.warning;
    if (cache && !log.warning && saved?.commit !== commit) cache.saveHistoryLog(commit, log.commits);
    h.append(log.commits.slice().reverse());
    return h;
  }

  /** This history moved to `commit`: by reading only the new commits when it is a descendant. */
  async moveTo(repoPath: string, commit: string): Promise<CommitHistory> {
    if (commit === this.commit) return this;
    if (!(await isAncestor(repoPath, this.commit, commit))) return CommitHistory.read(repoPath, commit);
    const log = await readLog(repoPath, [`${this.commit}..${commit}`]);
    if (log.warning) return CommitHistory.read(repoPath, commit);
    this.append(log.commits.reverse());
    this.commit = commit;
    return this;
  }

  get size(): number {
    return this.commits.length;
  }

  private append(oldestFirst: Array<PastCommit & { message: string }>): void {
    const touched = new Set<string>();
    for (const c of oldestFirst) {
      const i = this.commits.length;
      this.commits.push({ sha: c.sha, files: c.files });
      if (c.files.length >= 2 && c.files.length <= MAX_CO_FILES) {
        for (const f of c.files) pushTo(this.coIndex, f, i);
      }
      const short = c.sha.slice(0, 7);
      pushTo(this.byShortSha, short, i);
      if (c.files.length > 0 && c.files.length <= MAX_FILES) {
        for (const n of citedNumbers(c.message)) pushTo(this.byNumber, n, i);
        const terms = addTerms(c.message);
        this.lex.put(String(i), terms);
        for (const f of c.files) {
          const list = this.profileMessages.get(f) ?? [];
          list.push(terms);
          if (list.length > PROFILE_COMMITS) list.shift();
          this.profileMessages.set(f, list);
          touched.add(f);
        }
      }
    }
    for (const f of touched) {
      const tf = new Map<string, number>();
      for (const m of this.profileMessages.get(f)!) for (const [t, n] of m) tf.set(t, (tf.get(t) ?? 0) + n);
      this.profiles.put(f, tf);
    }
    this.churnCache = undefined;
  }

  /** BM25 of the query against each file's history profile (the messages of the commits that changed it). */
  profileScores(terms: Map<string, number>): Map<string, number> {
    return this.profiles.scoreAll(terms);
  }

  /**
   * Votes of the past commits most similar to the query: each gives its BM25 score, spread over the files
   * it changed (divided by the square root of their number).
   */
  similar(terms: Map<string, number>, top = TOP_COMMITS): Map<string, number> {
    const { docs, scores } = this.lex.scoreDocs(terms);
    const best: number[] = [];
    for (let i = 0; i < docs.length; i++) {
      if (best.length === top && scores[i]! <= scores[best[top - 1]!]!) continue;
      let j = Math.min(best.length, top - 1);
      while (j > 0 && scores[i]! > scores[best[j - 1]!]!) {
        best[j] = best[j - 1]!;
        j--;
      }
      best[j] = i;
    }
    const out = new Map<string, number>();
    for (const i of best) {
      const c = this.commits[Number(this.lex.idAt(docs[i]!))]!;
      const v = scores[i]! / Math.sqrt(c.files.length);
      for (const f of c.files) out.set(f, (out.get(f) ?? 0) + v);
    }
    return out;
  }

  /**
   * Files changed by the commits the text cites: by id (`d4fff711`), or by a ticket, issue or pull-request
   * number their messages also cite (`#31274`). Each commit gives 1 / sqrt(its files) to each of its files.
   */
  cited(text: string): Map<string, number> {
    const hits = new Set<number>();
    for (const sha of citedShas(text)) {
      for (const i of this.byShortSha.get(sha.slice(0, 7)) ?? [])
        if (this.commits[i]!.sha.startsWith(sha)) hits.add(i);
    }
    for (const n of citedNumbers(text)) for (const i of this.byNumber.get(n) ?? []) hits.add(i);
    const out = new Map<string, number>();
    for (const i of hits) {
      const { files } = this.commits[i]!;
      const v = 1 / Math.sqrt(files.length);
      for (const f of files) out.set(f, (out.get(f) ?? 0) + v);
    }
    return out;
  }

  /**
   * Files changed together with the seeds: each seed gives its weight times the share of its commits (of
   * at most `MAX_CO_FILES` files) that also changed the file.
   */
  coChanged(seeds: Map<string, number>): Map<string, number> {
    const out = new Map<string, number>();
    for (const [seed, weight] of seeds) {
      const list = this.coIndex.get(seed);
      if (!list || !(weight > 0)) continue;
      const v = weight / list.length;
      for (const i of list) {
        for (const f of this.commits[i]!.files) if (f !== seed) out.set(f, (out.get(f) ?? 0) + v);
      }
    }
    return out;
  }

  /** log(1 + commits that changed the path), over all history and over the last `RECENT` commits. */
  churn(): { all: Map<string, number>; recent: Map<string, number> } {
    if (this.churnCache) return this.churnCache;
    const all = new Map<string, number>();
    const recent = new Map<string, number>();
    const n = this.commits.length;
    for (let i = 0; i < n; i++) {
      const c = this.commits[i]!;
      if (c.files.length > MAX_FILES) continue;
      for (const f of c.files) {
        all.set(f, (all.get(f) ?? 0) + 1);
        if (i >= n - RECENT) recent.set(f, (recent.get(f) ?? 0) + 1);
      }
    }
    for (const m of [all, recent]) for (const [k, v] of m) m.set(k, Math.log1p(v));
    this.churnCache = { all, recent };
    return this.churnCache;
  }
}
