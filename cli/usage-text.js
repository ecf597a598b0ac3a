// The CLI's usage texts, in a module that imports nothing: \`codemesh <cmd> --help\` loads only this.
export const ROLES_TEXT =
  'conductor|curator|recorder|planner|coder|tester|reviewer|docwriter|integrator|chat|memory|campaign';

export const USAGE = `codemesh — a mesh of coding agents on NATS

  codemesh run --repo <path> --title <text> [--description <text>] [--approve auto|manual] [--gate post-plan] [--push]
      [--candidates K]
      one task, end to end, with live progress; ends with the branch name
  codemesh doctor --repo <path> [--commit <ref>] [--files a,b] [--issue <text>] [--json]
      how the Tester would test the repository at that commit: runner, command, env, setup, tests, why
  codemesh up [--port N]
      nats-server (unless NATS_URL is set), every actor and the gateway in one process
  codemesh actor <${ROLES_TEXT}>
      one actor alone, on NATS_URL (how the mesh scales out)
  codemesh bridge <slack|matrix|webhook>
      chat-ops: posts task updates to a chat room, takes commands back (status, approve, reject, rollback, run)
  codemesh campaign start --title <text> --description <text> --repos <id|name,...> [--max-concurrent N] ...
  codemesh campaign status|pause|resume|cancel <campaign id> [--json]
      one change across many registered repositories, upstream first, throttled (through the gateway)
  codemesh deadletters [--limit N] [--json]
      what the durable consumers gave up on after bounded redelivery, newest first, with the reason
  codemesh deadletters redrive <seq|all> [--json]
      publish a dead letter's message again on its original subject and remove the letter
  codemesh policy update --bundle <osv.json> [--json]
      import an offline OSV bundle (vulnerability data for the policy check) into the state dir
  codemesh policy org <org> --bundle <policy.yml> [--json]
      validate an org's policy bundle (YAML) and install it in the state dir
  codemesh calibrate [--rows <eval-rows.jsonl>] [--no-record] [--holdout-mod N] [--write] [--json]
      refit the calibrated confidence on labelled outcomes (human decisions, eval swe rows); Brier, held out
  codemesh index --repo <path> [--commit <sha>] [--json]
  codemesh search --repo <path> --query <text> [--top-k N] [--json]
  codemesh eval localize --dataset <file.jsonl> --repos <dir> [--limit N] [--json] [--out <file>]
      [--weights <file.json>] [--features <file.jsonl>]   (tuning: see actors/curator/fit-weights.ts)
  codemesh eval swe --dataset <file.jsonl> --repos <dir> [--instances id,...] [--limit N] [--gold]
      [--provider replay|env] [--k N] [--concurrency N] [--out <file>] [--json]
      SWE-bench issues through the whole mesh, graded in the sandbox (see cli/eval-swe/)

\`codemesh <command> --help\` shows one command's options.

Settings (env): CODEMESH_LLM_BASE_URL, CODEMESH_LLM_API_KEY, CODEMESH_LLM_MODEL (and CODEMESH_<ROLE>_LLM_*),
NATS_URL, CODEMESH_TOKEN (development admin token), CODEMESH_HOME (state dir, default ./.codemesh), CODEMESH_PORT,
DATABASE_URL (Postgres for the record; default PGlite under CODEMESH_HOME/pg), CODEMESH_OIDC_ISSUER,
CODEMESH_OIDC_AUDIENCE, CODEMESH_OIDC_JWKS_URL, CODEMESH_JWT_HS256_SECRET (with CODEMESH_JWT_ISSUER and
CODEMESH_JWT_AUDIENCE, default codemesh), CODEMESH_JWT_MAX_LIFETIME_SEC, CODEMESH_REPO_ROOTS (colon-separated
directories where org admins may register repositories; unset: only the instance admin registers).`;

export const RUN_USAGE = `usage: codemesh run --repo <path> --title <text> [--description <text>] [--approve auto|manual]
                    [--issue-url https://<github host>/<owner>/<repo>/issues/<n>]
                    [--gate post-plan] [--base <ref>] [--max-attempts N] [--max-cost-usd X] [--push]
                    [--soft-budget calls=N,usd=X,tokens=N,wall=S] [--hard-budget ...] [--candidates K]
                    [--docs]
  --gate post-plan   stop after planning until the plan is approved (edit it over the API or the console)
  --soft-budget   pause at the budget gate when a model call would pass one of these (raise or stop over HTTP)
  --hard-budget   stop the task there (default hard limits: $5 and 2,000,000 tokens)
  --candidates K   K independent candidate patches (1-8; models/temperatures from CODEMESH_CANDIDATE_MODELS /
                  _TEMPERATURES), chosen by their tests, agreement and the Reviewer; none good enough: exit 4
  --docs   the Doc Writer documents the reviewed patch (docstrings, README sections, CHANGELOG) in a
           separate patch, reviewed by the reviewer model, shown at the gate (or .codemesh.yml docs: true)
  --push   push codemesh/<task> to the repository's remote after integrating (default: never, unless
           .codemesh.yml says push: true); on GitHub (CODEMESH_GITHUB_TOKEN) it also opens a pull request
  --issue-url   the task's title and text from a GitHub issue (title, body, comments); --repo defaults to the
                checkout CODEMESH_GITHUB_REPOS maps it to, or the current directory if its remote is that repo

At the patch gate (--approve manual, on a terminal) the diff and the review's risks are shown, then:
  y  approve        n  request changes (asks what should change, then to confirm)
  d  the diff again (paged)   r  the risks again   q  quit, leaving the task waiting at the gate
Without a terminal it prints the curl commands that approve or request changes over HTTP, with the token's
source. Ctrl-C stops the mesh this run started and says what was left (a task keeps its state in CODEMESH_HOME).`;

export const DOCTOR_USAGE =
  'usage: codemesh doctor --repo <path> [--commit <ref>] [--files a.py,b.py] [--issue <text>] [--json]';

export const DEADLETTERS_USAGE = `usage: codemesh deadletters [--limit N] [--json]
       codemesh deadletters redrive <seq|all> [--json]`;

export const POLICY_USAGE = `usage: codemesh policy update --bundle <osv.json> [--json]
       codemesh policy org <org> --bundle <policy.yml> [--json]
  update: imports OSV records (a JSON array, {"vulns": [...]}, or one record a line) into
          $CODEMESH_HOME/policy/osv.json, replacing the previous import; the Coder's policy check reads it
  org:    checks the YAML bundle against the default one and writes $CODEMESH_HOME/policy/orgs/<org>.yml
  Exit 2 when the file is missing or invalid (the message names the field).`;

export const CALIBRATE_USAGE = `usage: codemesh calibrate [--rows <file.jsonl>]... [--no-record] [--holdout-mod N] [--l2 X]
         [--write] [--json]
  Refits the logistic model of the calibrated confidence (actors/reviewer/confidence.ts) on labelled patches:
  the record's reviewed patches with a human decision (approved = good; changes requested, rolled back = not;
  DATABASE_URL or the PGlite under $CODEMESH_HOME, which must not be held by a running codemesh up) and the rows
  of eval swe --out files that carry a confidence (resolved = good). Reports the Brier score on a held-out part
  (md5(id) % N = 0, default 3) of the Reviewer's own confidence, of the weights in use and of weights fitted on
  the rest; --write installs the weights fitted on everything as $CODEMESH_HOME/calibration.json.
  Exit 2 when there is no labelled patch or a file is missing or malformed.`;

export const EVAL_SWE_USAGE = `usage: codemesh eval swe --dataset <file.jsonl> --repos <dir> [--instances id,...] [--limit N]
         [--provider replay|env] [--k N] [--concurrency N] [--gold] [--out <file>] [--json]
         [--task-timeout-s N] [--test-timeout-s N] [--grade-timeout-s N] [--max-attempts N] [--keep] [--resume]
         [--replay-fix-only] [--candidates N]
  SWE-bench rows; <dir>/<owner>__<name> are full git clones. --gold grades the gold patches only (which
  instances this machine can resolve at all); --provider replay answers every agent with the known fix
  (checks the mesh on real code; with the tests that came with the fix upstream, unless --replay-fix-only),
  env uses CODEMESH_LLM_* (pass@k over --k attempts). --candidates N: each task makes N candidate patches and
  submits the one its tests choose, or abstains (counted in \`abstained\`). With --out <f>, each
  finished instance is appended to <f>.rows.jsonl at once; --resume skips the instances already there.
  --test-timeout-s N caps every test run, the mesh's Tester's and the grading's (default 300);
  --grade-timeout-s N gives the grading its own cap.`;

export const UP_USAGE = `usage: codemesh up [--port N]
  nats-server child (unless NATS_URL is set), every actor and the gateway in one process. Prints the gateway
  URL, the console URL (/console/) and the token (CODEMESH_TOKEN, or one generated for this run).
  --port N   the gateway's port (default CODEMESH_PORT, else 8787; 0 = any free port)`;

export const ACTOR_USAGE = `usage: codemesh actor <${ROLES_TEXT}>
  one actor alone on NATS_URL (default nats://127.0.0.1:4222): how the mesh scales out. It waits for NATS at
  start (up to CODEMESH_NATS_WAIT_S, default 60 s) and reconnects after a restart. CODEMESH_CONCURRENCY: steps
  one agent runs at once (default 4).`;

export const BRIDGE_USAGE = `usage: codemesh bridge <slack|matrix|webhook>
  a chat bridge on NATS_URL: a durable consumer of the task events posts updates (task started, awaiting
  approval with a link, approved, completed/failed/abstained, rollback) and commands come back:
  status <task>, approve <task|patch>, reject <task|patch> <comment>, rollback <task|patch> [reason],
  run <issue-url> — each carried out through the gateway's API as the mapped codemesh user (its roles, scopes,
  audit). Settings (env):
  CODEMESH_BRIDGE_USERS        JSON file {"users": {"slack:U0123": {"user": "alice", "token": "cmp_…"}}}
                               (chat user → codemesh user and that user's personal access token; keep it 0600)
  CODEMESH_BRIDGE_GATEWAY_URL  the gateway's HTTP API for commands (default: over NATS, cm.api.request)
  CODEMESH_BRIDGE_LINK_URL     base of the links in updates (default the gateway URL, else
                               http://127.0.0.1:$CODEMESH_PORT)
  CODEMESH_BRIDGE_HOST/_PORT   the commands endpoint (default 127.0.0.1:8788; POST /slack/commands)
  CODEMESH_BRIDGE_EVENTS       comma list of the event types to post (default: all the bridge knows)
  CODEMESH_BRIDGE_NAME         consumer suffix, for several bridges of one kind
  CODEMESH_BRIDGE_ORGS         comma list of org ids: only their tasks' and campaigns' events are posted
                               (a room is one tenant's; default: every org's)
  slack:   CODEMESH_SLACK_WEBHOOK_URL, CODEMESH_SLACK_SIGNING_SECRET
  matrix:  CODEMESH_MATRIX_HOMESERVER, CODEMESH_MATRIX_TOKEN, CODEMESH_MATRIX_ROOM_ID, CODEMESH_MATRIX_USER_ID
           (commands: "!codemesh approve t-…" in the room)
  webhook: CODEMESH_BRIDGE_WEBHOOK_URL, CODEMESH_BRIDGE_WEBHOOK_SECRET (optional; X-Codemesh-Signature-256)`;
export const CAMPAIGN_USAGE = `usage: codemesh campaign start --title <text> --description <text> (--repos <id|name,...> | --repos-query <query>)
           [--org <org>] [--approve auto|manual] [--max-concurrent N] [--max-prs-per-hour N]
           [--window-start H --window-end H [--window-days 0,1,...]] [--json]
       codemesh campaign status|pause|resume|cancel <campaign id> [--json]
       codemesh campaign list [--status <status>] [--org <org>] [--json]
       codemesh campaign retry <campaign id> <repository id|name> [--json]
  a multi-repo campaign through the gateway (POST /v1/campaigns ...): the repositories' manifests order them
  (upstream first), at most --max-concurrent tasks run at once (default 2), at most --max-prs-per-hour changes
  proposed per hour (pull requests opened, or gates reached), and only inside the rollout window (UTC hours
  [start, end), days 0 = Sunday). --repos-query selects registered repositories where you are a developer:
  "name:<glob> lang:<node|python|go> org:<id>" (all terms hold). cancel stops the tasks under way; retry sends a
  failed repository back (a new task). Gateway: CODEMESH_URL, else
  the \`codemesh up\` holding CODEMESH_HOME, else http://127.0.0.1:$CODEMESH_PORT (8787); token: CODEMESH_TOKEN.
  Exit 0 done, 1 refused by the gateway (code and message), 2 bad flags, 3 gateway unreachable.`;

export const INDEX_USAGE = `usage: codemesh index --repo <path> [--commit <sha>] [--json] [--cache-dir <dir>]
  builds the Curator's index of the repository at that commit into $CODEMESH_HOME/index (the mesh reads it)`;

export const SEARCH_USAGE = `usage: codemesh search --repo <path> --query <text> [--top-k N] [--commit <sha>] [--json]
  the Curator's ranked snippets for a query, with why each was picked`;

export const EVAL_USAGE = `usage: codemesh eval localize --dataset <file.jsonl> --repos <dir> [--limit N] [--only <regex>] [--json]
           [--out <file>] [--weights <file.json>] [--features <file.jsonl>]
       codemesh eval swe --help   (SWE-bench issues through the whole mesh)`;

/** \`codemesh <cmd> --help\`: the usage of one command (undefined: not a command). */
/** @param {readonly string[]} argv @returns {string | undefined} */
export function usageOf(argv) {
  const [cmd, sub] = argv;
  switch (cmd) {
    case 'run':
      return RUN_USAGE;
    case 'doctor':
      return DOCTOR_USAGE;
    case 'deadletters':
      return DEADLETTERS_USAGE;
    case 'policy':
      return POLICY_USAGE;
    case 'calibrate':
      return CALIBRATE_USAGE;
    case 'up':
      return UP_USAGE;
    case 'actor':
      return ACTOR_USAGE;
    case 'bridge':
      return BRIDGE_USAGE;
    case 'index':
      return INDEX_USAGE;
    case 'campaign':
      return CAMPAIGN_USAGE;
    case 'search':
      return SEARCH_USAGE;
    case 'eval':
      return sub === 'swe' ? EVAL_SWE_USAGE : EVAL_USAGE;
    default:
      return undefined;
  }
}

/** Whether the arguments ask for help (\`--help\` / \`-h\` anywhere before a \`--\`). */
/** @param {readonly string[]} argv @returns {boolean} */
export function wantsHelp(argv) {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
