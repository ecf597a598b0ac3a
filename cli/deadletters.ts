// `codemesh deadletters`: what the durable consumers gave up on, and `redrive <seq|all>` to put it back on its
// original subject once the cause is fixed. Talks to NATS_URL, else to the mesh that holds the state dir
// (`up`, `run`), else starts a private nats-server on the state dir's store for the time of the command.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  connectMesh,
  DeadLetterGoneError,
  DeadLetterNotFoundError,
  DeadLetterTaskEndedError,
  listDeadLetters,
  type MeshConnection,
  type NatsServerHandle,
  redriveDeadLetter,
  startNatsServer,
} from '../blackboard/index.ts';
import type { DeadLetter } from '../schemas/index.ts';
import { UsageError } from './errors.ts';
import { settingsFromEnv } from './settings.ts';
import { acquireStateLock, StateDirBusyError, type StateLock } from './state-lock.ts';

export { DEADLETTERS_USAGE } from './usage-text.js';
import { DEADLETTERS_USAGE } from './usage-text.js';

type Out = { write(text: string): unknown };

/** The mesh to read the dead letters from, and what to stop afterwards. */
async function openMesh(): Promise<{ mesh: MeshConnection; close(): Promise<void> }> {
  const s = settingsFromEnv();
  let lock: StateLock | undefined;
  let server: NatsServerHandle | undefined;
  let url = s.natsUrl;
  if (!url) {
    try {
      lock = acquireStateLock(s.dataDir, 'deadletters');
    } catch (err) {
      if (!(err instanceof StateDirBusyError) || !err.holder.natsUrl) throw err;
      url = err.holder.natsUrl;
    }
  }
  try {
    if (!url) {
      // Nothing runs: the letters are in the state dir's JetStream store (the one `up` and `run` use).
      server = await startNatsServer({ storeDir: join(s.dataDir, 'nats') });
      url = server.url;
    }
    const mesh = await connectMesh({ url, name: 'codemesh-deadletters' });
    return {
      mesh,
      async close() {
        await mesh.close();
        await server?.stop();
        lock?.release();
      },
    };
  } catch (err) {
    await server?.stop();
    lock?.release();
    throw err;
  }
}

/** Every letter, oldest first (re-driven in the order their messages first came). */
async function allLetters(mesh: MeshConnection): Promise<Array<{ dlqSeq: number; letter: DeadLetter }>> {
  const out: Array<{ dlqSeq: number; letter: DeadLetter }> = [];
  let before: number | undefined;
  for (;;) {
    const page = await listDeadLetters(mesh.jsm, { limit: 1000, beforeSeq: before });
    if (page.length === 0) break;
    out.push(...page);
    before = page.at(-1)!.dlqSeq;
  }
  return out.reverse();
}

function describeLetter(dlqSeq: number, l: DeadLetter): string {
  const what = [l.taskId ?? '(no task)', l.type ?? '(not an event)', l.eventId ?? '']
    .filter(Boolean)
    .join('  ');
  const reason = l.reason.replace(/\s+/g, ' ').slice(0, 300);
  return `${dlqSeq}  ${l.at}  ${l.consumer}  ${l.stream}#${l.seq} after ${l.deliveries} deliveries  ${what}\n    ${reason}`;
}

export async function cmdDeadletters(argv: string[], out: Out = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, limit: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const print = (s: string) => out.write(`${s}\n`);
  const [sub, target, ...extra] = positionals;
  if (sub !== undefined && sub !== 'redrive')
    throw new UsageError(`unknown deadletters command "${sub}"\n${DEADLETTERS_USAGE}`);
  if (
    sub === 'redrive' &&
    (!target || extra.length > 0 || !(target === 'all' || /^[1-9]\d{0,15}$/.test(target)))
  )
    throw new UsageError(`redrive takes one dead-letter sequence or "all"\n${DEADLETTERS_USAGE}`);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new UsageError(`--limit takes a number from 1 to 10000\n${DEADLETTERS_USAGE}`);

  const { mesh, close } = await openMesh();
  try {
    if (sub === undefined) {
      const items = await listDeadLetters(mesh.jsm, { limit });
      if (values.json) {
        print(JSON.stringify({ items: items.map(({ dlqSeq, letter }) => ({ dlqSeq, ...letter })) }));
        return 0;
      }
      if (items.length === 0) {
        print('no dead letters');
        return 0;
      }
      for (const { dlqSeq, letter } of items) print(describeLetter(dlqSeq, letter));
      print(
        `${items.length} dead letter${items.length === 1 ? '' : 's'} (newest first); re-drive with \`codemesh deadletters redrive <seq|all>\``,
      );
      return 0;
    }

    const seqs = target === 'all' ? (await allLetters(mesh)).map((l) => l.dlqSeq) : [Number(target)];
    const redriven: Array<Record<string, unknown>> = [];
    const failed: Array<{ dlqSeq: number; code: string; error: string }> = [];
    for (const dlqSeq of seqs) {
      try {
        const r = await redriveDeadLetter(mesh.js, mesh.jsm, dlqSeq, { board: mesh.board });
        redriven.push({
          dlqSeq,
          consumer: r.letter.consumer,
          eventId: r.letter.eventId ?? null,
          taskId: r.letter.taskId ?? null,
          subject: r.subject,
          seq: r.seq,
          duplicate: r.duplicate,
        });
        if (!values.json)
          print(
            `re-driven ${dlqSeq} (${r.letter.consumer}, ${r.letter.eventId ?? `message ${r.letter.seq}`}) → ${r.subject} #${r.seq}${r.duplicate ? ' (already there: not published again)' : ''}`,
          );
      } catch (err) {
        if (
          !(
            err instanceof DeadLetterNotFoundError ||
            err instanceof DeadLetterGoneError ||
            err instanceof DeadLetterTaskEndedError
          )
        )
          throw err;
        failed.push({ dlqSeq, code: err.code, error: err.message });
        if (!values.json) print(`codemesh: ${err.message}`);
      }
    }
    if (values.json) print(JSON.stringify({ redriven, failed }));
    else if (target === 'all') print(`${redriven.length} re-driven, ${failed.length} not`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    await close();
  }
}
