/** The ENOSYS stub (src/plan/seccomp-enosys.ts), run by a small classic-BPF interpreter over (arch, nr). */
import { describe, expect, test } from "bun:test";
import { ACTIONS } from "../../src/plan/seccomp";
import { type ArchMax, AUDIT_ARCH_X86_64, enosysStub, patchEnosys, RET_ENOSYS, SCMP_ARCH_X32, wantsEnosysStub } from "../../src/plan/seccomp-enosys";

const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_S390X = 0x80000016;
const X32 = 0x40000000;
/** The "filter" behind the stub: one instruction returning a value no stub path returns. */
const FILTER_RET = (ACTIONS.SCMP_ACT_ERRNO | 1) >>> 0;
const FILTER = (() => {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, 0x06, true);
  v.setUint32(4, FILTER_RET, true);
  return b;
})();

/** Classic BPF as seccomp runs it: A register, ld abs from seccomp_data, jumps, ret. */
function run(prog: Uint8Array, arch: number, nr: number): number {
  const v = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const data = new DataView(new ArrayBuffer(64));
  data.setUint32(0, nr >>> 0, true);
  data.setUint32(4, arch >>> 0, true);
  let a = 0;
  for (let pc = 0, steps = 0; pc < prog.length / 8 && steps < 10000; steps++) {
    const code = v.getUint16(pc * 8, true);
    const jt = prog[pc * 8 + 2]!;
    const jf = prog[pc * 8 + 3]!;
    const k = v.getUint32(pc * 8 + 4, true);
    pc++;
    switch (code) {
      case 0x20: a = data.getUint32(k, true); break;
      case 0x05: pc += k; break;
      case 0x15: pc += a === k ? jt : jf; break;
      case 0x25: pc += a > k ? jt : jf; break;
      case 0x45: pc += (a & k) !== 0 ? jt : jf; break;
      case 0x06: return k;
      default: throw new Error(`opcode ${code.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error("fell off the end of the program");
}

const decide = (archs: ArchMax[], arch: number, nr: number) => run(patchEnosys(FILTER, ACTIONS.SCMP_ACT_ERRNO | 1, archs), arch, nr);

/** What runc's rule says: above the highest number named for that architecture (and mode) → ENOSYS. */
function expected(archs: ArchMax[], arch: number, nr: number): number {
  const x32 = arch === AUDIT_ARCH_X86_64 && (nr & X32) !== 0;
  const entry = archs.find((e) => (x32 ? e.arch === SCMP_ARCH_X32 : e.arch === arch));
  if (arch === AUDIT_ARCH_S390X && nr === 0 && archs.some((e) => e.arch === arch)) return RET_ENOSYS;
  if (entry && entry.max > 0 && nr >>> 0 > entry.max) return RET_ENOSYS;
  return FILTER_RET;
}

describe("ENOSYS stub", () => {
  test("x86_64: above the highest listed number → ENOSYS, at or below → the filter", () => {
    const archs = [{ arch: AUDIT_ARCH_X86_64, max: 334 }];
    expect(decide(archs, AUDIT_ARCH_X86_64, 435)).toBe(RET_ENOSYS); // clone3
    expect(decide(archs, AUDIT_ARCH_X86_64, 335)).toBe(RET_ENOSYS);
    expect(decide(archs, AUDIT_ARCH_X86_64, 334)).toBe(FILTER_RET);
    expect(decide(archs, AUDIT_ARCH_X86_64, 0)).toBe(FILTER_RET);
    // x32 calls are not the x86_64 list's business; an architecture not listed goes to the filter.
    expect(decide(archs, AUDIT_ARCH_X86_64, X32 | 500)).toBe(FILTER_RET);
    expect(decide(archs, AUDIT_ARCH_I386, 1000)).toBe(FILTER_RET);
  });

  test("x86_64 and x32 together: each mode against its own highest number", () => {
    const archs = [{ arch: AUDIT_ARCH_X86_64, max: 300 }, { arch: SCMP_ARCH_X32, max: X32 | 200 }];
    expect(decide(archs, AUDIT_ARCH_X86_64, 301)).toBe(RET_ENOSYS);
    expect(decide(archs, AUDIT_ARCH_X86_64, 250)).toBe(FILTER_RET);
    expect(decide(archs, AUDIT_ARCH_X86_64, X32 | 201)).toBe(RET_ENOSYS);
    expect(decide(archs, AUDIT_ARCH_X86_64, X32 | 200)).toBe(FILTER_RET);
    // x32 alone leaves x86_64 calls to the filter.
    expect(decide([archs[1]!], AUDIT_ARCH_X86_64, 1000)).toBe(FILTER_RET);
    expect(decide([archs[1]!], AUDIT_ARCH_X86_64, X32 | 1000)).toBe(RET_ENOSYS);
  });

  test("s390x: the multiplexer number 0 is ENOSYS too", () => {
    const archs = [{ arch: AUDIT_ARCH_S390X, max: 400 }];
    expect(decide(archs, AUDIT_ARCH_S390X, 0)).toBe(RET_ENOSYS);
    expect(decide(archs, AUDIT_ARCH_S390X, 5)).toBe(FILTER_RET);
    expect(decide(archs, AUDIT_ARCH_S390X, 401)).toBe(RET_ENOSYS);
  });

  test("an architecture with no known syscall gets no section; none at all: no stub", () => {
    expect(enosysStub([{ arch: AUDIT_ARCH_X86_64, max: 0 }])).toHaveLength(0);
    expect(decide([{ arch: AUDIT_ARCH_X86_64, max: 0 }, { arch: AUDIT_ARCH_I386, max: 100 }], AUDIT_ARCH_X86_64, 5000)).toBe(FILTER_RET);
  });

  test("matches the rule over many (arch, nr) pairs and several architectures", () => {
    const archs = [
      { arch: AUDIT_ARCH_X86_64, max: 450 },
      { arch: SCMP_ARCH_X32, max: X32 | 440 },
      { arch: AUDIT_ARCH_I386, max: 380 },
      { arch: AUDIT_ARCH_AARCH64, max: 300 },
      { arch: AUDIT_ARCH_S390X, max: 420 },
    ];
    const prog = patchEnosys(FILTER, ACTIONS.SCMP_ACT_KILL_PROCESS, archs);
    let n = 0;
    for (const arch of [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_S390X, 0x28 /* ARM, not listed */])
      for (const nr of [0, 1, 299, 300, 301, 379, 380, 381, 419, 420, 421, 439, 440, 441, 449, 450, 451, 1000, 0xffffffff, X32, X32 | 440, X32 | 441, X32 | 5000]) {
        expect([arch, nr, run(prog, arch, nr)]).toEqual([arch, nr, expected(archs, arch, nr)]);
        n++;
      }
    expect(n).toBe(115);
  });

  test("only for default actions that would refuse a new syscall", () => {
    expect(wantsEnosysStub(ACTIONS.SCMP_ACT_ALLOW)).toBe(false);
    expect(wantsEnosysStub(ACTIONS.SCMP_ACT_LOG)).toBe(false);
    expect(wantsEnosysStub((ACTIONS.SCMP_ACT_TRACE | 5) >>> 0)).toBe(false);
    expect(wantsEnosysStub(RET_ENOSYS)).toBe(false);
    expect(wantsEnosysStub((ACTIONS.SCMP_ACT_ERRNO | 1) >>> 0)).toBe(true);
    expect(wantsEnosysStub(ACTIONS.SCMP_ACT_KILL)).toBe(true);
    expect(wantsEnosysStub(ACTIONS.SCMP_ACT_KILL_PROCESS)).toBe(true);
    expect(wantsEnosysStub(ACTIONS.SCMP_ACT_TRAP)).toBe(true);
    const archs = [{ arch: AUDIT_ARCH_X86_64, max: 10 }];
    expect(patchEnosys(FILTER, ACTIONS.SCMP_ACT_ALLOW, archs)).toBe(FILTER);
    expect(run(patchEnosys(FILTER, ACTIONS.SCMP_ACT_ALLOW, archs), AUDIT_ARCH_X86_64, 11)).toBe(FILTER_RET);
  });
});
