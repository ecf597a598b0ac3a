// The sandbox's seccomp filter as a classic-BPF program, the format `bwrap --seccomp FD` loads. It refuses
// (EPERM) the syscalls a test run never needs and an escape always does: mounts, namespaces, ptrace, keyrings,
// bpf, kernel modules, kexec, handle-based opens, userfaultfd, io_uring, clock and swap changes, reboot.

/** Syscall numbers of the refused calls, per architecture (x86_64: asm/unistd_64.h; aarch64: asm-generic). */
const DENIED: Record<string, Readonly<Record<string, number>>> = {
  x64: {
    mount: 165,
    umount2: 166,
    pivot_root: 155,
    chroot: 161,
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    kcmp: 312,
    keyctl: 250,
    add_key: 248,
    request_key: 249,
    bpf: 321,
    unshare: 272,
    setns: 308,
    perf_event_open: 298,
    kexec_load: 246,
    kexec_file_load: 320,
    init_module: 175,
    finit_module: 313,
    delete_module: 176,
    open_by_handle_at: 304,
    name_to_handle_at: 303,
    userfaultfd: 323,
    swapon: 167,
    swapoff: 168,
    reboot: 169,
    acct: 163,
    settimeofday: 164,
    clock_settime: 227,
    clock_adjtime: 305,
    adjtimex: 159,
    syslog: 103,
    quotactl: 179,
    vhangup: 153,
    iopl: 172,
    ioperm: 173,
    lookup_dcookie: 212,
    nfsservctl: 180,
    uselib: 134,
    ...unifiedSyscalls(),
  },
  arm64: {
    mount: 40,
    umount2: 39,
    pivot_root: 41,
    chroot: 51,
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    kcmp: 272,
    keyctl: 219,
    add_key: 217,
    request_key: 218,
    bpf: 280,
    unshare: 97,
    setns: 268,
    perf_event_open: 241,
    kexec_load: 104,
    kexec_file_load: 294,
    init_module: 105,
    finit_module: 273,
    delete_module: 106,
    open_by_handle_at: 265,
    name_to_handle_at: 264,
    userfaultfd: 282,
    swapon: 224,
    swapoff: 225,
    reboot: 142,
    acct: 89,
    settimeofday: 170,
    clock_settime: 112,
    clock_adjtime: 266,
    adjtimex: 171,
    syslog: 116,
    quotactl: 60,
    vhangup: 58,
    lookup_dcookie: 18,
    nfsservctl: 42,
    ...unifiedSyscalls(),
  },
};

/** Syscalls numbered alike on every architecture (added after the tables were unified, Linux 5.1+). */
function unifiedSyscalls(): Record<string, number> {
  return {
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    pidfd_getfd: 438,
    process_madvise: 440,
    mount_setattr: 442,
    quotactl_fd: 443,
    // io_uring runs file and socket operations outside the syscall filter; libuv falls back without it.
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
  };
}

const AUDIT_ARCH: Record<string, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
// x32 syscalls share the x86_64 audit arch with this bit set in the number: refuse them all.
const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO_EPERM = 0x00050000 | 1;
const RET_KILL_PROCESS = 0x80000000;
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;

/** Names of the syscalls the filter refuses on `arch` (`process.arch` spelling). */
export function deniedSyscalls(arch: string = process.arch): Readonly<Record<string, number>> {
  const table = DENIED[arch];
  if (!table) throw new Error(`no seccomp syscall table for architecture ${arch}`);
  return table;
}

/**
 * The filter for `arch` as bwrap expects it on its `--seccomp` fd: `struct sock_filter` entries (8 bytes,
 * little-endian). Calls of another architecture (32-bit compat, x32) kill the process: their numbers differ,
 * so they would slip past the list. Built once per architecture and shared: do not modify the buffer.
 *
 * @example
 * const prog = seccompProgram(); // pass on a pipe: bwrap --seccomp 3
 */
export function seccompProgram(arch: string = process.arch): Buffer {
  let prog = compiled.get(arch);
  if (!prog) {
    prog = compile(arch);
    compiled.set(arch, prog);
  }
  return prog;
}

/** Programs already built, per architecture: every job sends the same bytes. */
const compiled = new Map<string, Buffer>();

function compile(arch: string): Buffer {
  const auditArch = AUDIT_ARCH[arch];
  const numbers = [...new Set(Object.values(deniedSyscalls(arch)))].sort((a, b) => a - b);
  if (auditArch === undefined) throw new Error(`no seccomp support for architecture ${arch}`);
  type Insn = [code: number, jt: number, jf: number, k: number];
  const body: Insn[] = [];
  // Jump targets are relative, computed once the program's length is known: ERRNO and KILL are its last two.
  const DENY = -1;
  const KILL = -2;
  body.push([LD_W_ABS, 0, 0, OFFSET_ARCH]);
  body.push([JEQ_K, 0, KILL, auditArch]);
  body.push([LD_W_ABS, 0, 0, OFFSET_NR]);
  if (arch === 'x64') body.push([JSET_K, DENY, 0, X32_SYSCALL_BIT]);
  for (const nr of numbers) body.push([JEQ_K, DENY, 0, nr]);
  body.push([RET_K, 0, 0, RET_ALLOW]);
  const denyAt = body.length;
  body.push([RET_K, 0, 0, RET_ERRNO_EPERM]);
  body.push([RET_K, 0, 0, RET_KILL_PROCESS]);
  const target = (at: number, t: number) => {
    if (t >= 0) return t;
    const offset = (t === DENY ? denyAt : denyAt + 1) - at - 1;
    if (offset > 255) throw new Error('seccomp program too long for a relative jump');
    return offset;
  };
  const out = Buffer.alloc(body.length * 8);
  body.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(target(i, jt), i * 8 + 2);
    out.writeUInt8(target(i, jf), i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}
