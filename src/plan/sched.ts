/** process.scheduler, process.ioPriority, execCPUAffinity and linux.personality → executor operands. */
import { BuncError } from "../errors";
import type { Process, Spec } from "../spec/config";

const POLICIES: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

/** struct sched_attr (sched_setattr(2)), SCHED_ATTR_SIZE_VER0 = 48 bytes. */
export function schedAttr(s: NonNullable<Process["scheduler"]>): Uint8Array {
  const b = new Uint8Array(48);
  const v = new DataView(b.buffer);
  v.setUint32(0, 48, true);
  v.setUint32(4, POLICIES[s.policy]!, true);
  v.setBigUint64(8, BigInt((s.flags ?? []).reduce((m, f) => m | SCHED_FLAGS[f]!, 0)), true);
  v.setInt32(16, s.nice ?? 0, true);
  v.setUint32(20, s.priority ?? 0, true);
  v.setBigUint64(24, BigInt(s.runtime ?? 0), true);
  v.setBigUint64(32, BigInt(s.deadline ?? 0), true);
  v.setBigUint64(40, BigInt(s.period ?? 0), true);
  return b;
}

const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

/** The ioprio_set(2) value: class << 13 | level. */
export function ioprioValue(p: NonNullable<Process["ioPriority"]>): number {
  return (IOPRIO_CLASS[p.class]! << 13) | (p.priority ?? 0);
}

/** personality(2) persona of linux.personality; flags are refused (runc has none either). */
export function personaValue(p: NonNullable<NonNullable<Spec["linux"]>["personality"]>): number {
  if (p.flags?.length) throw new BuncError(`config.json: linux.personality.flags: ${p.flags.join(", ")}: no flags are supported`, { code: "CONFIG" });
  return p.domain === "LINUX32" ? 0x0008 /* PER_LINUX32 */ : 0 /* PER_LINUX */;
}

/** A cpu_set_t for a list like "0-3,7": whole 64-bit words. */
export function cpuMask(list: string, where: string): Uint8Array {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || hi < lo || hi >= 8192) throw new BuncError(`config.json: ${where}: invalid CPU list ${JSON.stringify(list)}`, { code: "CONFIG" });
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  const b = new Uint8Array((Math.floor(Math.max(...cpus) / 64) + 1) * 8);
  for (const c of cpus) b[c >> 3]! |= 1 << (c & 7);
  return b;
}
