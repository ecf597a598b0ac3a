// A long-lived `git cat-file --batch` process per repository for reading chunk texts at query time.
// Spawning costs tens of milliseconds once the process holds a large index (fork copies page tables),
// which alone would blow the query latency budget.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { GitError } from './errors.ts';

interface Pending {
  blob: string;
  resolve: (b: Buffer | undefined) => void;
  reject: (e: Error) => void;
}

export class BlobReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly queue: Pending[] = [];

  constructor(private readonly repoPath: string) {}

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-C', this.repoPath, 'cat-file', '--batch'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    const failAll = (err: Error) => {
      this.child = undefined;
      this.buf = Buffer.alloc(0);
      for (const p of this.queue.splice(0)) p.reject(err);
    };
    child.on('error', (e) => failAll(new GitError(`git cat-file failed: ${e.message}`, { cause: e })));
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
    for (;;) {
      const head = this.queue[0];
      if (!head) {
        this.setRef(false);
        return;
      }
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const header = this.buf.toString('utf8', 0, nl).split(' ');
      if (header[1] === 'missing') {
        this.buf = this.buf.subarray(nl + 1);
        this.queue.shift();
        head.resolve(undefined);
        continue;
      }
      const size = Number(header[2]);
      if (this.buf.length < nl + 1 + size + 1) return;
      const content = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size));
      this.buf = this.buf.subarray(nl + 1 + size + 1);
      this.queue.shift();
      head.resolve(content);
    }
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
