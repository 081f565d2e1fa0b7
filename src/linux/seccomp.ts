/**
 * libseccomp through bun:ffi: a SeccompPlan (src/plan/seccomp.ts) becomes
 * classic BPF in the parent. libseccomp is dlopen'ed only here, only when a
 * config has linux.seccomp, so every other command starts without it.
 */
import { dlopen, ptr, read, type Pointer } from "bun:ffi";
import { closeSync, fstatSync, readSync } from "node:fs";
import { BuncError } from "../errors";
import type { SeccompPlan } from "../plan/seccomp";
import { type ArchMax, patchEnosys } from "../plan/seccomp-enosys";
import { errnoText } from "./errno";
import { cstr, SYS, syscall } from "./libc";

const LIBRARY = "libseccomp.so.2";
const NR_SCMP_ERROR = -1;
const EEXIST = 17;

function open() {
  try {
    return dlopen(LIBRARY, {
      seccomp_init: { args: ["u32"], returns: "ptr" },
      seccomp_release: { args: ["ptr"], returns: "void" },
      seccomp_arch_add: { args: ["ptr", "u32"], returns: "i32" },
      seccomp_arch_resolve_name: { args: ["ptr"], returns: "u32" },
      seccomp_syscall_resolve_name: { args: ["ptr"], returns: "i32" },
      seccomp_syscall_resolve_name_arch: { args: ["u32", "ptr"], returns: "i32" },
      seccomp_arch_native: { args: [], returns: "u32" },
      seccomp_rule_add_array: { args: ["ptr", "u32", "i32", "u32", "ptr"], returns: "i32" },
      seccomp_export_bpf: { args: ["ptr", "i32"], returns: "i32" },
      seccomp_version: { args: [], returns: "ptr" },
    }).symbols;
  } catch (e) {
    throw new BuncError(`linux.seccomp needs libseccomp (${LIBRARY}), which cannot be loaded: install libseccomp2`, { code: "ENOTSUP", cause: e });
  }
}

let lib: ReturnType<typeof open> | undefined;

export interface Filter {
  /** struct sock_filter[]: 8 bytes per instruction. */
  bpf: Uint8Array;
  warnings: string[];
}

/** libseccomp's version ("2.5.4"), or undefined when it cannot be loaded (and seccomp cannot be used). */
export function libseccompVersion(): string | undefined {
  try {
    lib ??= open();
  } catch {
    return undefined;
  }
  // const struct scmp_version { unsigned int major, minor, micro; } * (seccomp.h)
  const v = lib.seccomp_version();
  return v ? `${read.u32(v, 0)}.${read.u32(v, 4)}.${read.u32(v, 8)}` : undefined;
}

/** Build the BPF program of plan with libseccomp. */
export function buildFilter(plan: SeccompPlan): Filter {
  lib ??= open();
  const l = lib;
  const warnings: string[] = [];
  const ctx = l.seccomp_init(plan.defaultAction);
  if (!ctx) throw new BuncError("seccomp_init failed: invalid default action", { code: "EINVAL" });
  try {
    for (const name of plan.architectures) {
      const arch = l.seccomp_arch_resolve_name(cstr(name));
      if (arch === 0) throw new BuncError(`linux.seccomp.architectures: SCMP_ARCH_${name.toUpperCase()} is not supported by this libseccomp`, { code: "CONFIG" });
      const r = l.seccomp_arch_add(ctx, arch);
      if (r < 0 && r !== -EEXIST) throw new BuncError(`seccomp: add architecture ${name}: ${errnoText(-r)}`, { code: "EINVAL", errno: -r });
    }
    const unknown = new Set<string>();
    for (const rule of plan.rules) {
      const nr = l.seccomp_syscall_resolve_name(cstr(rule.name));
      if (nr === NR_SCMP_ERROR) {
        // As runc: a name this libseccomp does not know is skipped (an older kernel or library).
        unknown.add(rule.name);
        continue;
      }
      const conds = new Uint8Array(Math.max(1, rule.conditions.length) * 24);
      const v = new DataView(conds.buffer);
      rule.conditions.forEach((c, i) => {
        v.setUint32(i * 24, c.index, true);
        v.setUint32(i * 24 + 4, c.op, true);
        v.setBigUint64(i * 24 + 8, BigInt.asUintN(64, c.a), true);
        v.setBigUint64(i * 24 + 16, BigInt.asUintN(64, c.b), true);
      });
      const r = l.seccomp_rule_add_array(ctx, rule.action, nr, rule.conditions.length, ptr(conds));
      if (r < 0) throw new BuncError(`seccomp: add rule for syscall ${rule.name}: ${errnoText(-r)}`, { code: "EINVAL", errno: -r });
    }
    for (const name of unknown) warnings.push(`seccomp: unknown syscall ${JSON.stringify(name)} ignored`);
    const bpf = patchEnosys(exportBpf(l, ctx), plan.defaultAction, highestSyscalls(l, plan));
    if (bpf.length / 8 > 4096) throw new BuncError(`seccomp: the filter has ${bpf.length / 8} instructions; the kernel takes 1 to 4096`, { code: "EINVAL" });
    return { bpf, warnings };
  } finally {
    l.seccomp_release(ctx);
  }
}

/**
 * The highest syscall number the profile names, per architecture of the
 * filter: the listed ones and always the native one (as runc, which adds it
 * because some profiles list only the others). Unknown names and libseccomp's
 * negative pseudo-numbers (multiplexed calls) do not count.
 */
function highestSyscalls(l: NonNullable<typeof lib>, plan: SeccompPlan): ArchMax[] {
  const archs = new Set<number>([l.seccomp_arch_native() >>> 0]);
  for (const name of plan.architectures) archs.add(l.seccomp_arch_resolve_name(cstr(name)) >>> 0);
  const names = plan.names.map((n) => cstr(n));
  return [...archs].map((arch) => ({ arch, max: Math.max(0, ...names.map((n) => l.seccomp_syscall_resolve_name_arch(arch, n))) }));
}

/** seccomp_export_bpf writes to an fd: a memfd, read back whole. */
function exportBpf(l: NonNullable<typeof lib>, ctx: Pointer | bigint): Uint8Array {
  const fd = syscall("memfd_create", SYS.memfd_create, cstr("bunc-seccomp"), 1 /* MFD_CLOEXEC */);
  try {
    const r = l.seccomp_export_bpf(ctx as Pointer, fd);
    if (r < 0) throw new BuncError(`seccomp_export_bpf: ${errnoText(-r)}`, { code: "EINVAL", errno: -r });
    const size = fstatSync(fd).size;
    const bpf = new Uint8Array(size);
    if (readSync(fd, bpf, 0, size, 0) !== size) throw new BuncError("seccomp_export_bpf: short read", { code: "EIO" });
    if (size === 0 || size % 8 !== 0 || size / 8 > 4096) throw new BuncError(`seccomp: the filter has ${size / 8} instructions; the kernel takes 1 to 4096`, { code: "EINVAL" });
    return bpf;
  } finally {
    closeSync(fd);
  }
}
