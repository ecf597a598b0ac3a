// `codemesh eval swe`: argument parsing, the model check for `--provider env`, and the report output.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../../actors/llm/index.ts';
import { createSandbox } from '../../sandbox-agent/index.ts';
import { MAX_CANDIDATES } from '../../schemas/index.ts';
import { UsageError } from '../errors.ts';
import { checkModels } from '../preflight.ts';
import { settingsFromEnv } from '../settings.ts';
import { DatasetError, loadDataset } from './dataset.ts';
import { defaultShimDir, type EvalSweReport, evalSwe, type InstanceRow, type Provider } from './evaluate.ts';

export { EVAL_SWE_USAGE } from '../usage-text.js';
import { EVAL_SWE_USAGE } from '../usage-text.js';

/** Rows of an earlier run of the same report (`<out>.rows.jsonl`); a cut last line is ignored. */
async function readRows(file: string, mode: string): Promise<InstanceRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const rows: InstanceRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as InstanceRow & { mode?: string };
      if (r.mode !== mode)
        throw new UsageError(`${file} holds rows of a ${r.mode} run, not ${mode}: use another --out`);
      delete r.mode;
      rows.push(r);
    } catch (err) {
      if (err instanceof UsageError) throw err;
    }
  }
  return rows;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a positive integer, not "${v}"`);
  return n;
}

export async function cmdEvalSwe(
  argv: string[],
  out: { write(s: string): unknown } = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string' },
      repos: { type: 'string' },
      instances: { type: 'string' },
      limit: { type: 'string' },
      provider: { type: 'string', default: 'replay' },
      k: { type: 'string' },
      concurrency: { type: 'string' },
      gold: { type: 'boolean', default: false },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      'task-timeout-s': { type: 'string' },
      'test-timeout-s': { type: 'string' },
      'grade-timeout-s': { type: 'string' },
      'max-attempts': { type: 'string' },
      candidates: { type: 'string' },
      keep: { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false },
      'replay-fix-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.dataset || !values.repos)
    throw new UsageError(`--dataset and --repos are required\n${EVAL_SWE_USAGE}`);
  if (values.provider !== 'replay' && values.provider !== 'env') {
    throw new UsageError(`--provider takes replay or env, not "${values.provider}"`);
  }
  const provider: Provider = values.provider;
  const k = positiveInt('k', values.k) ?? 1;
  const concurrency = positiveInt('concurrency', values.concurrency) ?? 1;
  const limit = positiveInt('limit', values.limit);
  const taskTimeout = positiveInt('task-timeout-s', values['task-timeout-s']);
  const testTimeout = positiveInt('test-timeout-s', values['test-timeout-s']);
  const gradeTimeout = positiveInt('grade-timeout-s', values['grade-timeout-s']);
  const maxAttempts = positiveInt('max-attempts', values['max-attempts']);
  const candidates = positiveInt('candidates', values.candidates);
  if (candidates !== undefined && candidates > MAX_CANDIDATES)
    throw new UsageError(`--candidates takes 1 to ${MAX_CANDIDATES}, not ${candidates}`);
  const print = (s: string) => out.write(`${s}\n`);
  if (values.resume && !values.out) throw new UsageError('--resume needs the --out of the run it resumes');
  const mode = values.gold ? 'gold' : provider;
  const rowsFile = values.out ? `${resolve(values.out)}.rows.jsonl` : undefined;
  const done = rowsFile && values.resume ? await readRows(rowsFile, mode) : [];
  if (rowsFile && !values.resume) await writeFile(rowsFile, '');
  let instances: ReturnType<typeof loadDataset>;
  try {
    instances = loadDataset(resolve(values.dataset), {
      instances: values.instances
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      limit,
    });
  } catch (err) {
    if (err instanceof DatasetError) throw new UsageError(err.message);
    throw err;
  }
  if (!values.gold && provider === 'env') {
    try {
      await checkModels(process.env);
    } catch (err) {
      if (err instanceof ModelError) {
        print(`codemesh: no model reachable: ${err.message}`);
        return 3;
      }
      throw err;
    }
  }
  // Ctrl-C (or SIGTERM): finished rows are kept, the mesh and its nats-server stop; a second one exits at once.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(130);
    console.error('eval swe: interrupted — stopping the mesh; the report holds the finished instances');
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: EvalSweReport;
  try {
    report = await evalSwe({
      signal: interrupt.signal,
      instances,
      repos: resolve(values.repos),
      provider,
      gold: values.gold,
      k,
      concurrency,
      home: join(settingsFromEnv().dataDir, 'eval-swe'),
      shimDir: defaultShimDir(),
      sandbox: createSandbox(),
      env: process.env,
      ...(taskTimeout ? { taskTimeoutMs: taskTimeout * 1000 } : {}),
      ...(testTimeout ? { testTimeoutMs: testTimeout * 1000 } : {}),
      ...(gradeTimeout ? { gradeTimeoutMs: gradeTimeout * 1000 } : {}),
      ...(maxAttempts ? { maxAttempts } : {}),
      ...(candidates ? { candidates } : {}),
      keep: values.keep,
      replayFixOnly: values['replay-fix-only'],
      log: (l) => console.error(l),
      done,
      ...(rowsFile
        ? { onRow: (row: InstanceRow) => appendFile(rowsFile, `${JSON.stringify({ mode, ...row })}\n`) }
        : {}),
    });
  } catch (err) {
    if (err instanceof DatasetError) throw new UsageError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const text = JSON.stringify(report, null, 1);
  if (values.out) await writeFile(resolve(values.out), `${text}\n`);
  if (values.json) print(text);
  else {
    print(
      `eval swe (${report.mode}): ${report.resolved}/${report.n} resolved (${report.resolved_pct}%)` +
        (report.gold_ok !== undefined ? `, gold ok here: ${report.gold_ok}` : '') +
        `, pass@k ${JSON.stringify(report.pass_at_k)}${report.abstained ? `, abstained ${report.abstained}` : ''}, tokens/instance ${report.tokens_mean}, ` +
        `$${report.cost_usd_mean}/instance, wall p50 ${report.wall_s_p50} s, p95 ${report.wall_s_p95} s` +
        (report.verdict_s_p50 !== undefined
          ? `, patch→verdict p50 ${report.verdict_s_p50} s, p95 ${report.verdict_s_p95} s`
          : '') +
        (report.first_verdict_s_p50 !== undefined
          ? ` (first verdict p50 ${report.first_verdict_s_p50} s, p95 ${report.first_verdict_s_p95} s)`
          : '') +
        (report.grade_cached ? `, ${report.grade_cached} graded from a byte-identical tree's run` : ''),
    );
    for (const r of report.instances) {
      print(
        `  ${r.resolved ? '✔' : '✘'} ${r.instance_id}${r.env_error ? ` (env: ${r.env_error.slice(0, 160)})` : ''}${r.reason ? ` (${r.reason.slice(0, 160)})` : ''}`,
      );
    }
  }
  return interrupt.signal.aborted ? 130 : 0;
}
