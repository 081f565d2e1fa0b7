/**
 * linux.memoryPolicy → the operands of set_mempolicy(2) (pure), checked as
 * runc 1.3 checks them, plus the flag combinations the kernel refuses, so
 * that a bad policy is one clear error before anything is made.
 */
import { BuncError } from "../errors";
import type { LinuxMemoryPolicy } from "../spec/config";
import { cpuMask } from "./sched";

/** enum mempolicy_mode (linux/mempolicy.h). */
export const MPOL_MODES = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
} as const;

/** Mode flags, ORed into the mode. */
export const MPOL_FLAGS = {
  MPOL_F_STATIC_NODES: 1 << 15,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_NUMA_BALANCING: 1 << 13,
} as const;

export interface MemoryPolicyPlan {
  /** Mode ORed with its flags. */
  mode: number;
  /** The node mask (64-bit words), empty for no nodes. */
  mask: Uint8Array;
  /** set_mempolicy's maxnode: the kernel reads maxnode - 1 bits. */
  maxnode: number;
}

export function planMemoryPolicy(p: LinuxMemoryPolicy): MemoryPolicyPlan {
  const where = "config.json: linux.memoryPolicy";
  const mode = MPOL_MODES[p.mode as keyof typeof MPOL_MODES];
  if (mode === undefined) throw new BuncError(`${where}.mode: invalid memory policy mode ${JSON.stringify(p.mode)}`, { code: "CONFIG" });
  const mask = p.nodes?.trim() ? cpuMask(p.nodes, "linux.memoryPolicy.nodes").slice() : new Uint8Array(0);
  const count = mask.reduce((n, b) => n + popcount(b), 0);
  let flags = 0;
  for (const f of p.flags ?? []) {
    const bit = MPOL_FLAGS[f as keyof typeof MPOL_FLAGS];
    if (bit === undefined) throw new BuncError(`${where}.flags: invalid memory policy flag ${JSON.stringify(f)}`, { code: "CONFIG" });
    flags |= bit;
  }
  const has = (f: keyof typeof MPOL_FLAGS) => (flags & MPOL_FLAGS[f]) !== 0;
  if ((p.mode === "MPOL_DEFAULT" || p.mode === "MPOL_LOCAL") && count)
    throw new BuncError(`${where}: ${p.mode} takes no nodes, not ${JSON.stringify(p.nodes)}`, { code: "CONFIG" });
  if (["MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"].includes(p.mode) && !count)
    throw new BuncError(`${where}: ${p.mode} needs at least one node in nodes`, { code: "CONFIG" });
  // set_mempolicy(2): the two are exclusive; NUMA balancing only with BIND or PREFERRED_MANY; LOCAL takes neither.
  if (has("MPOL_F_STATIC_NODES") && has("MPOL_F_RELATIVE_NODES"))
    throw new BuncError(`${where}.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other`, { code: "CONFIG" });
  if (has("MPOL_F_NUMA_BALANCING") && p.mode !== "MPOL_BIND" && p.mode !== "MPOL_PREFERRED_MANY")
    throw new BuncError(`${where}.flags: MPOL_F_NUMA_BALANCING applies only to MPOL_BIND and MPOL_PREFERRED_MANY`, { code: "CONFIG" });
  if (p.mode === "MPOL_LOCAL" && flags & (MPOL_FLAGS.MPOL_F_STATIC_NODES | MPOL_FLAGS.MPOL_F_RELATIVE_NODES))
    throw new BuncError(`${where}.flags: MPOL_LOCAL takes no node flags`, { code: "CONFIG" });
  return { mode: mode | flags, mask, maxnode: mask.length ? mask.length * 8 + 1 : 0 };
}

/** The plan with the step's description for an error: "set memory policy MPOL_BIND nodes 0". */
export function memoryPolicyStep(p: LinuxMemoryPolicy): MemoryPolicyPlan & { what: string } {
  const flags = p.flags?.length ? ` flags ${p.flags.join("|")}` : "";
  return { ...planMemoryPolicy(p), what: `set memory policy ${p.mode}${p.nodes ? ` nodes ${p.nodes}` : ""}${flags}` };
}

function popcount(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}
