// The bwrap profile: what it binds, what it never binds, and the order its safety rests on.
import { describe, expect, it } from 'vitest';
import { bwrapArgs, hostLayout, syntheticEtc } from './profile.ts';

const fds = { seccomp: 3, passwd: 4, group: 5, hosts: 6 };
const args = bwrapArgs({
  workDir: '/srv/state/work/step-1',
  readOnlyPaths: ['/opt/tool'],
  diskBytes: 64 * 1024 * 1024,
  shmBytes: 1024 * 1024,
  fds,
});

/** Destinations of every bind and symlink in the arguments. */
function mounted(list: string[]): string[] {
  const dests: string[] = [];
  list.forEach((a, i) => {
    if (a === '--ro-bind' || a === '--bind' || a === '--symlink') dests.push(list[i + 2]!);
    if (a === '--ro-bind-data') dests.push(list[i + 2]!);
  });
  return dests;
}

describe('bwrapArgs', () => {
  it('drops every privilege and forbids nested user namespaces', () => {
    const joined = args.join(' ');
    expect(joined).toContain('--unshare-all --unshare-user --disable-userns');
    expect(joined).toContain('--uid 1000 --gid 1000');
    expect(joined).toContain('--cap-drop ALL');
    // No bwrap init: the wrapper is pid 1, and the pid namespace dies with it.
    expect(joined).toContain('--unshare-all');
    expect(args).toContain('--as-pid-1');
    expect(joined).toContain('--seccomp 3');
    expect(joined).toContain('--proc /proc --ro-bind /proc/sys /proc/sys');
  });

  it('binds no host root, state, home, /run or secret /etc entry', () => {
    const dests = mounted(args);
    expect(dests).not.toContain('/');
    for (const d of dests) {
      expect(d, d).not.toMatch(/^\/(root|home|run|var|srv|tmp)(\/|$)/);
      expect(d, d).not.toMatch(/^\/etc\/(shadow|gshadow|sudoers|ssh|ssl\/private|mysql|postgresql)/);
    }
    expect(dests).toContain('/opt/tool');
    expect(dests).toEqual(expect.arrayContaining(['/etc/passwd', '/etc/group', '/etc/hosts']));
  });

  it('mirrors /usr and the merged-/usr links as the host has them', () => {
    expect(hostLayout().find((e) => e.path === '/usr')?.kind).toBe('dir');
    expect(mounted(args)).toContain('/usr');
  });

  it('puts the size-capped work tree last and then makes the root read-only', () => {
    const tmpfsAt = args.lastIndexOf('--tmpfs');
    expect(args[tmpfsAt + 1]).toBe('/srv/state/work/step-1');
    expect(args[tmpfsAt - 2]).toBe('--size');
    expect(args[tmpfsAt - 1]).toBe(String(64 * 1024 * 1024));
    const lastBind = Math.max(args.lastIndexOf('--ro-bind'), args.lastIndexOf('--ro-bind-data'));
    expect(args.indexOf('--remount-ro')).toBeGreaterThan(Math.max(lastBind, tmpfsAt));
    expect(args[args.indexOf('--remount-ro') + 1]).toBe('/');
  });

  it('with a prepared /etc copy, binds it as /etc in one mount and no host /etc entry', () => {
    const withCopy = bwrapArgs({
      workDir: '/srv/state/work/step-1',
      readOnlyPaths: [],
      diskBytes: 64 * 1024 * 1024,
      shmBytes: 1024 * 1024,
      fds,
      etcDir: '/dev/shm/codemesh-etc-1-abc',
    });
    const dests = mounted(withCopy);
    expect(dests.filter((d) => d === '/etc' || d.startsWith('/etc/'))).toEqual(['/etc']);
    const at = withCopy.indexOf('/dev/shm/codemesh-etc-1-abc');
    expect(withCopy.slice(at - 1, at + 2)).toEqual(['--ro-bind', '/dev/shm/codemesh-etc-1-abc', '/etc']);
    expect(withCopy).not.toContain('--ro-bind-data');
    expect(withCopy.indexOf('--remount-ro')).toBeGreaterThan(at);
  });

  it('makes up passwd/group entries for the sandbox user', () => {
    const etc = syntheticEtc();
    expect(etc.passwd).toMatch(/^sandbox:x:1000:1000:/m);
    expect(etc.group).toMatch(/^sandbox:x:1000:/m);
    expect(etc.passwd).not.toMatch(/\$/); // no hashes, ever
  });
});
