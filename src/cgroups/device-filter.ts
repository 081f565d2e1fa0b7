/**
 * Device rules on cgroup v2: the kernel has no devices.allow/deny there, only
 * a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup that answers
 * each open/mknod (Documentation/admin-guide/cgroup-v2.rst "Device
 * controller"; the context is struct bpf_cgroup_dev_ctx in
 * include/uapi/linux/bpf.h). Pure: rules in, the program's bytes out.
 *
 * The rules are first replayed the way cgroup v1 applies devices.allow and
 * devices.deny lines (security/device_cgroup.c), as runc's devices emulator
 * and crun do, so that one config means the same on both versions: a type "a"
 * rule resets to allow-all or deny-all; any other rule adds or removes an
 * exception, merged by exact (type, major, minor). The result — a default and
 * a list of exceptions — becomes one block of instructions per exception.
 */
import { BuncError } from "../errors";
import type { DeviceRule } from "./devices";

/** Access bits as the kernel puts them in the upper half of access_type (BPF_DEVCG_ACC_*). */
const ACC = { m: 1, r: 2, w: 4 } as const;
const ACC_ALL = ACC.m | ACC.r | ACC.w;
/** Device types in the lower half of access_type (BPF_DEVCG_DEV_*). */
const DEV = { b: 1, c: 2 } as const;

export interface DeviceFilter {
  /** What happens to a device no exception matches. */
  defaultAllow: boolean;
  /** The exceptions to the default, in the order they were first added. */
  exceptions: { type: "b" | "c"; major: number | "*"; minor: number | "*"; access: number }[];
}

function bad(i: number, why: string, field = ""): BuncError {
  return new BuncError(`linux.resources.devices[${i}]${field}: ${why}`, { code: "CONFIG" });
}

/** "rwm" → access bits; anything else is refused. */
function accessBits(i: number, access: string): number {
  if (access === "") throw bad(i, "must not be empty", ".access");
  let bits = 0;
  for (const ch of access) {
    const bit = ACC[ch as keyof typeof ACC];
    if (!bit) throw bad(i, `unknown device access ${JSON.stringify(ch)} (expected r, w, m)`);
    bits |= bit;
  }
  return bits;
}

function number(i: number, what: string, n: number | "*"): number | "*" {
  if (n === "*" || n === -1) return "*"; // -1: runc's "wildcard" for an unset major/minor
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw bad(i, `${what} must be a device number (0 to 4294967295), got ${n}`);
  return n;
}

/**
 * Replay rules (config rules then the defaults) as cgroup v1 would, starting
 * deny-all as runc does for a new container. Throws on a rule the kernel
 * would silently ignore: removing part of a wildcard exception.
 */
export function emulateDeviceRules(rules: readonly DeviceRule[]): DeviceFilter {
  let defaultAllow = false;
  let exceptions: DeviceFilter["exceptions"] = [];
  rules.forEach((r, i) => {
    const access = accessBits(i, r.access);
    if (r.type === "a") {
      // The kernel ignores the rest of an "a" line: it resets the whole list.
      defaultAllow = r.allow;
      exceptions = [];
      return;
    }
    if (r.type !== "b" && r.type !== "c") throw bad(i, `unknown device type ${JSON.stringify(r.type)} (expected a, b, c)`);
    const type = r.type;
    const major = number(i, "major", r.major);
    const minor = number(i, "minor", r.minor);
    const same = exceptions.find((e) => e.type === type && e.major === major && e.minor === minor);
    if (r.allow !== defaultAllow) {
      // An exception to the default: add, or widen the one with the same key.
      if (same) same.access |= access;
      else exceptions.push({ type, major, minor, access });
      return;
    }
    // Same as the default: take the access away from the exception with the same key.
    for (const e of exceptions) {
      if (e === same || e.type !== type || (e.major !== "*" && e.major !== major) || (e.minor !== "*" && e.minor !== minor)) continue;
      if (e.access & access)
        throw bad(i, `cannot take ${r.access} of ${type} ${major}:${minor} out of the wider exception ${type} ${e.major}:${e.minor} (cgroup v1 would ignore it)`);
    }
    if (same) {
      same.access &= ~access;
      if (same.access === 0) exceptions = exceptions.filter((e) => e !== same);
    }
  });
  return { defaultAllow, exceptions };
}

// eBPF instruction encoding (include/uapi/linux/bpf.h, bpf_common.h).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU32_MOV_K = 0xb4;
const ALU32_MOV_X = 0xbc;
const JMP32_JNE_K = 0x56; // JMP32: compare the low 32 bits, so majors/minors above 2^31 compare as u32
const JMP32_JEQ_K = 0x16;
const JMP32_JNE_X = 0x5e;
const EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src: number;
  /** A jump's target: "next" (the next block) or an offset already known. */
  off: number | "next";
  imm: number;
}

const I = (code: number, dst: number, src: number, off: number | "next", imm: number): Insn => ({ code, dst, src, off, imm });

/**
 * The program for a filter. Registers: R1 the context (struct
 * bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }), R2 the
 * type, R3 the requested access, R4 major, R5 minor; R0 the verdict (1 allow).
 * An allow exception matches when the request is within its access (as
 * v1's match_exception); a deny exception when they overlap at all (as v1's
 * match_exception_partial), so that opening O_RDWR a device denied "w" is refused.
 */
export function deviceProgram(f: DeviceFilter): Uint8Array {
  const blocks: Insn[][] = [[
    I(LDX_MEM_W, 2, 1, 0, 0), I(ALU32_AND_K, 2, 0, 0, 0xffff),
    I(LDX_MEM_W, 3, 1, 0, 0), I(ALU32_RSH_K, 3, 0, 0, 16),
    I(LDX_MEM_W, 4, 1, 4, 0),
    I(LDX_MEM_W, 5, 1, 8, 0),
  ]];
  for (const e of f.exceptions) {
    const b: Insn[] = [I(JMP32_JNE_K, 2, 0, "next", DEV[e.type])];
    if (e.access !== ACC_ALL) { // rwm matches any request either way
      b.push(I(ALU32_MOV_X, 1, 3, 0, 0), I(ALU32_AND_K, 1, 0, 0, e.access));
      // Allow: (req & acc) == req; deny: (req & acc) != 0.
      b.push(f.defaultAllow ? I(JMP32_JEQ_K, 1, 0, "next", 0) : I(JMP32_JNE_X, 1, 3, "next", 0));
    }
    if (e.major !== "*") b.push(I(JMP32_JNE_K, 4, 0, "next", e.major | 0));
    if (e.minor !== "*") b.push(I(JMP32_JNE_K, 5, 0, "next", e.minor | 0));
    b.push(I(ALU32_MOV_K, 0, 0, 0, f.defaultAllow ? 0 : 1), I(EXIT, 0, 0, 0, 0));
    blocks.push(b);
  }
  blocks.push([I(ALU32_MOV_K, 0, 0, 0, f.defaultAllow ? 1 : 0), I(EXIT, 0, 0, 0, 0)]);

  const count = blocks.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(count * 8);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of blocks) {
    const next = at + b.length;
    for (const insn of b) {
      const off = insn.off === "next" ? next - (at + 1) : insn.off;
      view.setUint8(at * 8, insn.code);
      view.setUint8(at * 8 + 1, (insn.src << 4) | insn.dst);
      view.setInt16(at * 8 + 2, off, true);
      view.setInt32(at * 8 + 4, insn.imm, true);
      at++;
    }
  }
  return out;
}

/** The decision the program makes, computed in TypeScript (for tests: the same rules the bytes encode). */
export function deviceAllowed(f: DeviceFilter, type: "b" | "c", major: number, minor: number, access: string): boolean {
  let req = 0;
  for (const ch of access) req |= ACC[ch as keyof typeof ACC];
  for (const e of f.exceptions) {
    if (e.type !== type || (e.major !== "*" && e.major !== major) || (e.minor !== "*" && e.minor !== minor)) continue;
    if (f.defaultAllow ? (req & e.access) !== 0 : (req & e.access) === req) return !f.defaultAllow;
  }
  return f.defaultAllow;
}
