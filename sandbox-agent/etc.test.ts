// The prepared /etc copy: the allowed entries and the made-up files only, private, remade when the host
// changes, never deleted under a running job, and gone at the end.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtcCopies } from './etc.ts';
import { etcNames } from './profile.ts';

let root: string;
let source: string;
let parent: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'codemesh-etc-test-'));
  source = join(root, 'etc');
  parent = join(root, 'shm');
  mkdirSync(join(source, 'ssl', 'certs'), { recursive: true });
  mkdirSync(join(source, 'ssl', 'private'), { recursive: true });
  mkdirSync(join(source, 'python3.11'));
  mkdirSync(parent);
  writeFileSync(join(source, 'shadow'), 'root:$6$hash:1::::::\n', { mode: 0o640 });
  writeFileSync(join(source, 'passwd'), 'alice:x:1001:1001::/home/alice:/bin/bash\n');
  writeFileSync(join(source, 'sudoers'), 'alice ALL=(ALL) ALL\n');
  writeFileSync(join(source, 'nsswitch.conf'), 'hosts: files\n');
  writeFileSync(join(source, 'ssl', 'certs', 'ca.pem'), 'CERT\n');
  writeFileSync(join(source, 'ssl', 'private', 'key.pem'), 'KEY\n', { mode: 0o600 });
  writeFileSync(join(source, 'python3.11', 'sitecustomize.py'), '\n');
  // A link the copy must keep as a link, not replace by the (secret) file it points to.
  symlinkSync(join(source, 'shadow'), join(source, 'localtime'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const copies = (interval = 0) =>
  new EtcCopies({ source, parent, names: () => etcNames(source), checkIntervalMs: interval });

async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = join(rel, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await tree(dir, p)));
  }
  return out.sort();
}

describe('EtcCopies', () => {
  it('holds the allowed entries and the made-up passwd, group, hosts: no shadow, sudoers, ssl/private', async () => {
    const c = copies();
    const lease = c.lease();
    expect(lease).toBeDefined();
    const dir = lease!.dir;
    expect(await tree(dir)).toEqual(
      [
        'group',
        'hosts',
        'localtime',
        'nsswitch.conf',
        'passwd',
        'python3.11',
        'python3.11/sitecustomize.py',
        'ssl',
        'ssl/certs',
        'ssl/certs/ca.pem',
      ].sort(),
    );
    expect(readFileSync(join(dir, 'passwd'), 'utf8')).toMatch(/^sandbox:x:1000:1000:/m);
    expect(readFileSync(join(dir, 'passwd'), 'utf8')).not.toContain('alice');
    expect(lstatSync(join(dir, 'localtime')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'localtime'))).toBe(join(source, 'shadow'));
    const st = lstatSync(dir);
    expect(st.mode & 0o777).toBe(0o755);
    expect(st.uid).toBe(process.getuid?.());
    expect(lstatSync(join(dir, 'ssl')).mode & 0o022).toBe(0); // nobody else may add to it
    lease!.release();
    c.removeAll();
    expect(existsSync(dir)).toBe(false);
  });

  it('reuses one copy while the host is unchanged', () => {
    const c = copies();
    const a = c.lease()!;
    const b = c.lease()!;
    expect(b.dir).toBe(a.dir);
    a.release();
    b.release();
    c.removeAll();
  });

  it('remakes the copy when a host file changes, and keeps the old one until its job ends', () => {
    const c = copies();
    const running = c.lease()!;
    writeFileSync(join(source, 'nsswitch.conf'), 'hosts: files dns\n');
    const next = c.lease()!;
    expect(next.dir).not.toBe(running.dir);
    expect(readFileSync(join(next.dir, 'nsswitch.conf'), 'utf8')).toBe('hosts: files dns\n');
    // The job that started on the old copy still sees its /etc.
    expect(existsSync(join(running.dir, 'nsswitch.conf'))).toBe(true);
    running.release();
    expect(existsSync(running.dir)).toBe(false);
    next.release();
    expect(existsSync(next.dir)).toBe(true); // current: kept for the next job
    c.removeAll();
    expect(existsSync(next.dir)).toBe(false);
  });

  it('sees a new allowed entry and a nested change', () => {
    const c = copies();
    const first = c.lease()!;
    first.release();
    writeFileSync(join(source, 'ssl', 'certs', 'new.pem'), 'NEW\n');
    const second = c.lease()!;
    expect(second.dir).not.toBe(first.dir);
    expect(existsSync(join(second.dir, 'ssl', 'certs', 'new.pem'))).toBe(true);
    expect(existsSync(first.dir)).toBe(false);
    second.release();
    writeFileSync(join(source, 'gai.conf'), 'precedence ::ffff:0:0/96 100\n');
    const third = c.lease()!;
    expect(existsSync(join(third.dir, 'gai.conf'))).toBe(true);
    third.release();
    c.removeAll();
  });

  it('sees a host change through inotify, without waiting for the interval', async () => {
    const c = copies(60_000);
    const a = c.lease()!;
    a.release();
    writeFileSync(join(source, 'ssl', 'certs', 'ca.pem'), 'CERT 2\n');
    await new Promise((r) => setTimeout(r, 100));
    const b = c.lease()!;
    expect(b.dir).not.toBe(a.dir);
    expect(readFileSync(join(b.dir, 'ssl', 'certs', 'ca.pem'), 'utf8')).toBe('CERT 2\n');
    b.release();
    c.removeAll();
  });

  it('checks the host at most once per interval when nothing reports a change', () => {
    const c = copies(60_000);
    const a = c.lease()!;
    writeFileSync(join(source, 'nsswitch.conf'), 'hosts: dns\n');
    const b = c.lease()!;
    expect(b.dir).toBe(a.dir);
    a.release();
    b.release();
    c.removeAll();
  });

  it('gives no copy (the caller binds entries one by one) when none can be made', () => {
    const c = new EtcCopies({ source, parent: join(root, 'missing'), checkIntervalMs: 0 });
    const warn = process.emitWarning;
    process.emitWarning = () => {};
    try {
      expect(c.lease()).toBeUndefined();
    } finally {
      process.emitWarning = warn;
    }
  });
});
