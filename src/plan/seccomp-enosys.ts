/**
 * The ENOSYS stub runc prepends to every seccomp filter (its patchbpf): a
 * syscall whose number is above the highest one the profile names, for that
 * architecture, returns ENOSYS instead of the default action. A profile
 * written before clone3 or faccessat2 existed would otherwise answer them with
 * EPERM, and glibc only falls back to clone/faccessat on ENOSYS.
 *
 * Pure: classic BPF (struct sock_filter, 8 bytes, host order) in and out.
 * src/linux/seccomp.ts finds the highest numbers with libseccomp.
 */
import { BuncError } from "../errors";
import { ACTIONS } from "./seccomp";

const ENOSYS = 38;
export const RET_ENOSYS = (ACTIONS.SCMP_ACT_ERRNO | ENOSYS) >>> 0;

/** Audit architectures (linux/audit.h) that need their own treatment. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** libseccomp's SCMP_ARCH_X32 is not an audit value: x32 runs as x86_64 with bit 30 set in the syscall number. */
export const SCMP_ARCH_X32 = 0x4000003e;
const X32_SYSCALL_BIT = 0x40000000;
const AUDIT_ARCH_S390 = 0x00000016;
const AUDIT_ARCH_S390X = 0x80000016;

/** The highest syscall number the profile names for one architecture (a libseccomp SCMP_ARCH_* value). */
export interface ArchMax {
  arch: number;
  max: number;
}

/**
 * Whether the stub goes in front of the filter: not when the default
 * action lets the call through anyway (allow, log, trace — a tracer handles
 * new syscalls itself, as runc says), and not when the default is already
 * ENOSYS (the stub would change nothing).
 */
export function wantsEnosysStub(defaultAction: number): boolean {
  if (defaultAction === RET_ENOSYS) return false;
  const base = (defaultAction & 0xffff0000) >>> 0;
  return base !== ACTIONS.SCMP_ACT_ALLOW && base !== ACTIONS.SCMP_ACT_LOG && base !== ACTIONS.SCMP_ACT_TRACE;
}

// BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JA = 0x05;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JSET_K = 0x45;
const RET_K = 0x06;
const OFF_NR = 0;
const OFF_ARCH = 4;

/** An instruction whose jumps name labels; resolved by assemble. */
interface Insn {
  code: number;
  k: number | string;
  jt?: string;
  jf?: string;
  label?: string;
}

function assemble(prog: Insn[]): Uint8Array {
  const at = new Map<string, number>();
  prog.forEach((p, i) => p.label && at.set(p.label, i));
  at.set("filter", prog.length);
  const out = new Uint8Array(prog.length * 8);
  const v = new DataView(out.buffer);
  const rel = (i: number, label: string | undefined, max: number): number => {
    if (label === undefined) return 0;
    const to = at.get(label);
    if (to === undefined) throw new Error(`seccomp stub: no label ${label}`);
    const off = to - (i + 1);
    if (off < 0 || off > max) throw new BuncError(`seccomp: the ENOSYS stub needs a jump of ${off}, more than BPF allows`, { code: "EINVAL" });
    return off;
  };
  prog.forEach((p, i) => {
    v.setUint16(i * 8, p.code, true);
    if (p.code === JA) {
      v.setUint32(i * 8 + 4, rel(i, p.k as string, 0xffffffff), true);
      return;
    }
    out[i * 8 + 2] = rel(i, p.jt, 255);
    out[i * 8 + 3] = rel(i, p.jf, 255);
    v.setUint32(i * 8 + 4, (p.k as number) >>> 0, true);
  });
  return out;
}

/**
 * The stub for these architectures. Unknown architectures and numbers up
 * to the maximum fall through to the filter, which decides as before.
 *
 *   ld arch; jeq A1 → sec1; jeq A2 → sec2; …; ja filter
 *   secN: ld nr; [s390: jeq 0 → enosys]; jgt MAX → enosys; ja filter
 *   enosys: ret ERRNO(ENOSYS)
 */
export function enosysStub(archs: readonly ArchMax[]): Uint8Array {
  // Group by audit architecture: x86_64 and x32 share one, told apart by bit 30.
  const byAudit = new Map<number, { native?: number; x32?: number }>();
  for (const { arch, max } of archs) {
    if (max <= 0) continue;
    const audit = arch === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch >>> 0;
    const e = byAudit.get(audit) ?? {};
    if (arch === SCMP_ARCH_X32) e.x32 = Math.max(e.x32 ?? 0, max);
    else e.native = Math.max(e.native ?? 0, max);
    byAudit.set(audit, e);
  }
  if (byAudit.size === 0) return new Uint8Array(0);
  const head: Insn[] = [{ code: LD_W_ABS, k: OFF_ARCH }];
  const body: Insn[] = [];
  let n = 0;
  for (const [audit, { native, x32 }] of byAudit) {
    const sec = `arch${n++}`;
    head.push({ code: JEQ_K, k: audit, jt: sec });
    body.push({ code: LD_W_ABS, k: OFF_NR, label: sec });
    // s390 multiplexes large syscall numbers through setup(2), number 0: a
    // number the kernel does not know arrives as 0, so 0 is ENOSYS too.
    if (audit === AUDIT_ARCH_S390 || audit === AUDIT_ARCH_S390X) body.push({ code: JEQ_K, k: 0, jt: "enosys" });
    const above = (max: number | undefined, label?: string): Insn =>
      max === undefined ? { code: JA, k: "filter", label } : { code: JGT_K, k: max, jt: "enosys", jf: "jfilter", label };
    if (audit === AUDIT_ARCH_X86_64) {
      // The profile may name x86_64 only, x32 only, or both: each checks its own calls.
      body.push({ code: JSET_K, k: X32_SYSCALL_BIT, jt: `${sec}x32` });
      body.push(above(native));
      body.push(above(x32, `${sec}x32`));
    } else {
      body.push(above(native));
    }
  }
  head.push({ code: JA, k: "filter" });
  body.push({ code: RET_K, k: RET_ENOSYS, label: "enosys" });
  body.push({ code: JA, k: "filter", label: "jfilter" });
  return assemble([...head, ...body]);
}

/** bpf with the stub in front; unchanged when the default action does not want it. */
export function patchEnosys(bpf: Uint8Array, defaultAction: number, archs: readonly ArchMax[]): Uint8Array {
  if (!wantsEnosysStub(defaultAction)) return bpf;
  const stub = enosysStub(archs);
  const out = new Uint8Array(stub.length + bpf.length);
  out.set(stub);
  out.set(bpf, stub.length);
  return out;
}
