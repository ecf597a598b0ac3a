// What the sandbox's filesystem holds (the system directories a build needs, a minimal /etc, the caller's
// toolchain paths, size-capped tmpfs for the work tree and /tmp) and the bwrap arguments that build it.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** uid/gid of the job inside the sandbox: unprivileged, whatever the host uid is. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const SANDBOX_HOSTNAME = 'codemesh-sandbox';

/**
 * Entries of the host's /etc the sandbox gets (a trailing `*` matches a prefix). Dynamic linking, TLS roots,
 * time zone, name-service config, interpreter config (python3.x, java-*, perl) and /etc/alternatives, through
 * which Debian links python3, java and others. Never shadow, gshadow, sudoers, ssh, ssl/private, service
 * configs (mysql, postgresql, redis hold passwords) or the real passwd/group (made up instead).
 */
const ETC_ALLOWED = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'alternatives',
  'ssl/certs',
  'ssl/openssl.cnf',
  'ca-certificates',
  'ca-certificates.conf',
  'localtime',
  'timezone',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'protocols',
  'services',
  'mime.types',
  'os-release',
  'debian_version',
  'lsb-release',
  'locale.alias',
  'python3*',
  'java-*',
  'maven',
  'perl',
  'terminfo',
  'fonts',
  'xml',
  'sgml',
  'magic',
  'magic.mime',
  'mtab',
];

/** Top-level system directories: bound read-only, or recreated as the symlinks they are (merged /usr). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

type Entry = { kind: 'dir' | 'file'; path: string } | { kind: 'link'; path: string; target: string };

let layout: Entry[] | undefined;

/** The host entries the sandbox mirrors (system dirs and allowed /etc), looked up once per process. */
export function hostLayout(): readonly Entry[] {
  layout ??= [...SYSTEM_DIRS.map(entry), ...etcNames('/etc').map((n) => entry(join('/etc', n)))].filter(
    (e): e is Entry => e !== undefined,
  );
  return layout;
}

/** The allowed entries present in `etc` (a host /etc), relative to it, sorted. */
export function etcNames(etc: string): string[] {
  const top = safeReaddir(etc);
  const names = new Set<string>();
  for (const pattern of ETC_ALLOWED) {
    if (pattern.endsWith('*')) {
      for (const n of top) if (n.startsWith(pattern.slice(0, -1))) names.add(n);
    } else {
      names.add(pattern);
    }
  }
  return [...names].sort().filter((n) => entry(join(etc, n)) !== undefined);
}

function entry(path: string): Entry | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { kind: 'link', path, target: readlinkSync(path) };
    if (st.isDirectory()) return { kind: 'dir', path };
    if (st.isFile()) return { kind: 'file', path };
  } catch {
    // absent on this host
  }
  return undefined;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Made-up /etc files: the sandbox user's passwd and group entries, and a loopback-only hosts file. */
export function syntheticEtc(): { passwd: string; group: string; hosts: string } {
  return {
    passwd:
      'root:x:0:0:root:/root:/usr/sbin/nologin\n' +
      `sandbox:x:${SANDBOX_UID}:${SANDBOX_GID}:codemesh sandbox:/tmp:/bin/sh\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    group: `root:x:0:\nsandbox:x:${SANDBOX_GID}:\nnogroup:x:65534:\n`,
    hosts: `127.0.0.1\tlocalhost ${SANDBOX_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  };
}

/** Where each piece of data reaches bwrap: file descriptors of the bwrap process. */
export interface ProfileFds {
  seccomp: number;
  passwd: number;
  group: number;
  hosts: number;
}

export interface ProfileSpec {
  workDir: string;
  readOnlyPaths: readonly string[];
  /** Size of the work tree's tmpfs and of /tmp, each, in bytes. */
  diskBytes: number;
  /** Size of /dev/shm in bytes. */
  shmBytes: number;
  fds: ProfileFds;
  /**
   * A prepared copy of the allowed /etc entries plus passwd, group and hosts (etc.ts), bound as /etc in one
   * mount. Without it each entry is bound on its own and the made-up files come through `fds`.
   */
  etcDir?: string;
}

/** bwrap arguments of the profile. Order matters: later mounts go on top of earlier ones. */
export function bwrapArgs(spec: ProfileSpec): string[] {
  const { workDir, diskBytes, fds } = spec;
  const args: string[] = [];
  // biome-ignore format: flag/value pairs read better kept together
  args.push(
    // A user namespace even for root: the job gets an unprivileged uid and no capability in any namespace,
    // and may create no further user namespace (so none of the capabilities that come with one either).
    '--unshare-all', '--unshare-user', '--disable-userns',
    '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID),
    '--cap-drop', 'ALL',
    '--hostname', SANDBOX_HOSTNAME,
    // bwrap 0.8 also arms the parent-death signal on its own outer process: if this Node process dies,
    // even by SIGKILL, the job dies with it instead of running on without its timeout.
    '--die-with-parent',
    '--new-session',
    // The wrapper is pid 1 (it reaps orphans, see WRAPPER) instead of a bwrap init: one process less per
    // job. When it exits the kernel kills whatever the job left in the pid namespace, as bwrap's init did.
    '--as-pid-1',
  );
  for (const e of hostLayout()) {
    if (spec.etcDir !== undefined && e.path.startsWith('/etc/')) continue;
    if (e.kind === 'link') args.push('--symlink', e.target, e.path);
    else args.push('--ro-bind', e.path, e.path);
  }
  if (spec.etcDir !== undefined) args.push('--ro-bind', spec.etcDir, '/etc');
  else {
    // biome-ignore format: flag/value pairs read better kept together
    args.push(
      '--ro-bind-data', String(fds.passwd), '/etc/passwd',
      '--ro-bind-data', String(fds.group), '/etc/group',
      '--ro-bind-data', String(fds.hosts), '/etc/hosts',
    );
  }
  const sizes = (bytes: number) => ['--size', String(Math.max(4096, Math.floor(bytes)))];
  // biome-ignore format: flag/value pairs read better kept together
  args.push(
    '--proc', '/proc',
    // Sysctls are checked against the host uid, not capabilities: when bwrap runs as root, the job's uid is
    // the host's root and could set kernel.core_pattern (code execution as root on the next crash).
    '--ro-bind', '/proc/sys', '/proc/sys',
    '--dev', '/dev',
    '--perms', '1777', ...sizes(spec.shmBytes), '--tmpfs', '/dev/shm',
    '--perms', '1777', ...sizes(diskBytes), '--tmpfs', '/tmp',
  );
  for (const p of spec.readOnlyPaths) args.push('--ro-bind', p, p);
  // biome-ignore format: flag/value pairs read better kept together
  args.push(
    // The work tree is a copy in a size-capped tmpfs (the wrapper unpacks it): the host tree is not even
    // visible, and writes cannot fill the host's disk.
    ...sizes(diskBytes), '--tmpfs', workDir,
    // The root tmpfs bwrap builds on (mount points, /etc) would otherwise be writable and unbounded.
    '--remount-ro', '/',
    '--seccomp', String(fds.seccomp),
    '--chdir', workDir,
  );
  return args;
}

/** fd (inside the sandbox) the wrapper reads the work tree from, as a tar stream. */
export const TREE_FD = 7;
/** fd (inside the sandbox) the wrapper writes declared outputs to, as a ustar stream. */
export const OUTPUTS_FD = 8;

/**
 * The sandbox's first process, pid 1 of its pid namespace: unpack the work tree (a tar stream on TREE_FD)
 * unless told there is none, run the command with neither stream open, then pack the declared outputs
 * (regular files only, symlinks skipped) onto OUTPUTS_FD. Everything it reads is what the job could read
 * anyway. Arguments: workDir, 1 or 0 (a tree to unpack or not), number of outputs, outputs, command.
 *
 * The command always runs as a child, never exec'd: as pid 1 it would ignore every signal it has no handler
 * for (a test that SIGTERMs itself would hang) and would not reap orphans. dash waits with wait3(), so
 * orphans re-parented to the wrapper are reaped while the command runs and do not pile up against the
 * process cap.
 */
export const WRAPPER = [
  'w=$1; t=$2; n=$3; shift 3',
  'i=0',
  'while [ "$i" -lt "$n" ]; do i=$((i+1)); eval "o$i=\\$1"; shift; done',
  `if [ "$t" = 1 ] && ! err=$(tar -x -p --no-same-owner -f - -C "$w" <&${TREE_FD} 2>&1); then`,
  '  echo "codemesh-sandbox: cannot copy the work tree into the sandbox (over its disk limit?)" >&2',
  '  printf "%s\\n" "$err" | head -c 2000 >&2; exit 125',
  'fi',
  `exec ${TREE_FD}<&-`,
  `if [ "$n" -eq 0 ]; then exec ${OUTPUTS_FD}>&-; "$@"; exit; fi`,
  `"$@" ${OUTPUTS_FD}>&-`,
  's=$?',
  'cd "$w" || exit "$s"',
  'i=0; set --',
  // Only outputs that exist (as anything: find sorts out what is copied), so a job without any spawns nothing.
  'while [ "$i" -lt "$n" ]; do i=$((i+1)); eval "[ -e \\"\\$o$i\\" ] && set -- \\"\\$@\\" \\"\\$o$i\\""; done',
  '[ "$#" -eq 0 ] && exit "$s"',
  // find -P never follows symlinks, not even for its start points; -type f keeps regular files only.
  `find -P "$@" -maxdepth 1 -type f -print0 2>/dev/null | tar -c -f - --format=ustar --null --no-recursion -T - >&${OUTPUTS_FD} 2>/dev/null`,
  'exit "$s"',
].join('\n');

/**
 * The first process of a job started by a pre-started bwrap (launcher.ts): its arguments come as
 * CODEMESH_ARGC and CODEMESH_ARG_1.. in the environment (bwrap 0.8 reads only options from --args). It
 * rebuilds them as its positional parameters, removes those entries from the environment the command
 * gets, checks their count and goes on as WRAPPER. CODEMESH_ARGS_END is set by the last option bwrap read:
 * without it the options were cut short (the profile may be incomplete) and nothing runs.
 */
export const LAUNCH_WRAPPER = [
  '[ "x$CODEMESH_ARGS_END" = x1 ] || { echo "codemesh-sandbox: incomplete launch" >&2; exit 125; }',
  'unset CODEMESH_ARGS_END',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'c=${CODEMESH_ARGC:-x}; unset CODEMESH_ARGC; i=0; set --',
  'case $c in *[!0-9]*|"") echo "codemesh-sandbox: bad launch" >&2; exit 125;; esac',
  // eval builds `set -- "$@" "${CODEMESH_ARG_<i>?}"`: an unset one is an error, which ends the shell.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'while [ "$i" -lt "$c" ]; do i=$((i+1)); eval "set -- \\"\\$@\\" \\"\\${CODEMESH_ARG_$i?}\\""; unset "CODEMESH_ARG_$i"; done',
  '[ "$#" -eq "$c" ] || { echo "codemesh-sandbox: bad launch" >&2; exit 125; }',
  WRAPPER,
].join('\n');
