// The seccomp program, run through a small classic-BPF interpreter: what it answers for each syscall.
import { describe, expect, it } from 'vitest';
import { deniedSyscalls, seccompProgram } from './seccomp.ts';

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const KILL = 0x80000000;
const ARCH = { x64: 0xc000003e, arm64: 0xc00000b7, i386: 0x40000003 };

/** Evaluate a seccomp classic-BPF program on `seccomp_data { nr, arch }` (only the opcodes it may use). */
function evaluate(prog: Buffer, nr: number, arch: number): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  let acc = 0;
  for (let pc = 0; pc * 8 < prog.length; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: // ld [k]
        acc = data.readUInt32LE(k);
        break;
      case 0x15: // jeq #k
        pc += acc === k ? jt : jf;
        break;
      case 0x45: // jset #k
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case 0x06: // ret #k
        return k >>> 0;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('program fell off its end');
}

describe('seccompProgram', () => {
  for (const arch of ['x64', 'arm64'] as const) {
    it(`refuses every listed syscall on ${arch} with EPERM and allows the rest`, () => {
      const prog = seccompProgram(arch);
      const denied = new Set(Object.values(deniedSyscalls(arch)));
      for (const name of ['mount', 'ptrace', 'unshare', 'setns', 'bpf', 'keyctl', 'open_by_handle_at']) {
        expect(evaluate(prog, deniedSyscalls(arch)[name]!, ARCH[arch]), name).toBe(EPERM);
      }
      for (let nr = 0; nr < 460; nr++) {
        expect(evaluate(prog, nr, ARCH[arch]), `nr ${nr}`).toBe(denied.has(nr) ? EPERM : ALLOW);
      }
    });
  }

  it('kills calls made through another architecture (32-bit compat) and refuses x32 numbers', () => {
    const prog = seccompProgram('x64');
    expect(evaluate(prog, 0, ARCH.i386)).toBe(KILL);
    expect(evaluate(prog, 0, ARCH.arm64)).toBe(KILL);
    expect(evaluate(prog, 0x40000000 + 39, ARCH.x64)).toBe(EPERM);
    // read (0), write (1), clone (56), execve (59) stay allowed.
    for (const nr of [0, 1, 56, 59]) expect(evaluate(prog, nr, ARCH.x64)).toBe(ALLOW);
  });

  it('names the syscalls the issue lists', () => {
    const names = Object.keys(deniedSyscalls('x64'));
    for (const n of [
      'mount',
      'umount2',
      'pivot_root',
      'ptrace',
      'keyctl',
      'add_key',
      'request_key',
      'bpf',
      'unshare',
      'setns',
      'perf_event_open',
      'kexec_load',
      'kexec_file_load',
      'init_module',
      'finit_module',
      'delete_module',
      'open_by_handle_at',
      'userfaultfd',
      'swapon',
      'swapoff',
      'reboot',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('has no table for an unknown architecture', () => {
    expect(() => seccompProgram('mips')).toThrow(/architecture mips/);
  });
});
