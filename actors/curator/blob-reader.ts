// A long-lived `git cat-file --batch` process per repository for reading chunk texts at query time.
// Spawning costs tens of milliseconds once the process holds a large index (fork copies page tables),
// which alone would blow the query latency budget.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { gitEnv } from '../runtime/git.ts';
import { GitError } from './errors.ts';

interface Pending {
  blob: string;
  resolve: (b: Buffer | undefined) => void;
  reject: (e: Error) => void;
}

export class BlobReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  // Output arrives in 64 KiB pieces; they are joined only once a whole object is there (joining on every
  // piece is quadratic for large files).
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = 1;
  private readonly queue: Pending[] = [];

  constructor(private readonly repoPath: string) {}

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-C', this.repoPath, '--no-pager', 'cat-file', '--batch'], {
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      this.parts.push(d);
      this.partsLen += d.length;
      if (this.partsLen >= this.need) this.drain();
    });
    const failAll = (err: Error) => {
      this.child = undefined;
      this.parts = [];
      this.partsLen = 0;
      this.need = 1;
      for (const p of this.queue.splice(0)) p.reject(err);
    };
    child.on('error', (e) => failAll(new GitError(`git cat-file failed: ${e.message}`, { cause: e })));
    // A write after git exited (EPIPE) is reported by 'exit' below; unhandled it would kill the process.
    child.stdin.on('error', () => {});
    child.on('exit', () => failAll(new GitError('git cat-file exited')));
    this.child = child;
    this.setRef(false);
    return child;
  }

  /** An idle reader must not keep the process alive; a pending read must. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as unknown as Array<{
      ref?: () => void;
      unref?: () => void;
    }>) {
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  private drain(): void {
    let buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLen);
    this.need = 1;
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      const nl = buf.indexOf(10);
      if (nl < 0) {
        this.need = buf.length + 1;
        break;
      }
      const header = buf.toString('utf8', 0, nl).split(' ');
      if (header[1] === 'missing') {
        buf = buf.subarray(nl + 1);
        this.queue.shift();
        head.resolve(undefined);
        continue;
      }
      const end = nl + 1 + Number(header[2]);
      if (buf.length < end + 1) {
        this.need = end + 1;
        break;
      }
      const content = Buffer.from(buf.subarray(nl + 1, end));
      buf = buf.subarray(end + 1);
      this.queue.shift();
      head.resolve(content);
    }
    this.parts = buf.length ? [buf] : [];
    this.partsLen = buf.length;
    if (this.queue.length === 0) this.setRef(false);
  }

  read(blob: string): Promise<Buffer | undefined> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ blob, resolve, reject });
      this.setRef(true);
      child.stdin.write(`${blob}\n`);
    });
  }

  async readMany(blobs: string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const contents = await Promise.all(blobs.map((b) => this.read(b)));
    blobs.forEach((b, i) => {
      const c = contents[i];
      if (c) out.set(b, c);
    });
    return out;
  }

  close(): void {
    this.child?.stdin.end();
    this.child?.kill();
    this.child = undefined;
  }
}
