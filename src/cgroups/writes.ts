/**
 * linux.resources → the cgroup file writes that apply it, for v1
 * (Documentation/admin-guide/cgroup-v1) and v2 (cgroup-v2.rst). Pure: no
 * file is read or written here, so the mapping is unit-tested against a fake
 * cgroupfs. Only fields that are set produce writes. Every invalid or
 * unsupported value throws one BuncError naming the field, before anything
 * is written.
 */
import { BuncError } from "../errors";
import { emulateDeviceRules } from "./device-filter";
import { deviceLine, deviceRules } from "./devices";
import type { LinuxResources } from "./resources";

export interface CgroupWrite {
  /** The controller whose directory holds the file ("memory", "cpu", …; "" for v2 core files). */
  controller: string;
  file: string;
  value: string;
}

export interface WriteOptions {
  /** Write the device rules (create always does: the defaults are appended; update only when given). */
  devices: boolean;
  /** Where settings ignored as runc ignores them are reported (kernel memory, unknown device access letters). */
  warnings?: string[];
}

const W = (controller: string, file: string, value: string | number | bigint): CgroupWrite => ({ controller, file, value: String(value) });

function bad(field: string, why: string): BuncError {
  return new BuncError(`linux.resources.${field}: ${why}`, { code: "CONFIG" });
}

/** -1 (unlimited) or a non-negative integer. */
function limit(field: string, n: number): number {
  if (n < -1) throw bad(field, `must be -1 (unlimited) or a non-negative integer, got ${n}`);
  return n;
}

/** A cpuset list ("0-3,5"); empty means inherit. */
function cpuList(field: string, s: string): string {
  if (s !== "" && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s)) throw bad(field, `expected a list like "0-2,4", got ${JSON.stringify(s)}`);
  for (const range of s.split(",").filter(Boolean)) {
    const [a, b] = range.split("-").map(Number);
    if (b !== undefined && b < a!) throw bad(field, `range ${range} is backwards`);
  }
  return s;
}

function refuse(field: string, why: string): never {
  throw new BuncError(`linux.resources.${field}: ${why}`, { code: "ENOTSUP" });
}

/** The writes of linux.resources on cgroup v1, in the order they must happen. */
export function v1Writes(r: LinuxResources | undefined, opts: WriteOptions): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (!r) r = {};
  // runc's words first (cgroups.bats matches "invalid configuration").
  if (r.unified && Object.keys(r.unified).length) throw new BuncError("invalid configuration: linux.resources.unified: needs cgroup v2; this host's cgroups are v1", { code: "ENOTSUP" });
  if (opts.devices || r.devices) out.push(...deviceWrites(r, opts.warnings));

  const m = r.memory;
  if (m) {
    kernelMemory(m, opts);
    // The limit goes before memory+swap (memsw must stay ≥ limit); the manager retries the other order.
    if (m.limit !== undefined) out.push(W("memory", "memory.limit_in_bytes", limit("memory.limit", m.limit)));
    let swap = m.swap;
    if (swap === undefined && m.limit === -1) swap = -1; // as runc: an unlimited memory lifts the swap limit too
    if (swap !== undefined) {
      limit("memory.swap", swap);
      if (m.limit !== undefined && m.limit >= 0 && swap >= 0 && swap < m.limit) throw bad("memory.swap", `memory+swap (${swap}) must not be below memory.limit (${m.limit})`);
      out.push(W("memory", "memory.memsw.limit_in_bytes", swap));
    }
    if (m.reservation !== undefined) out.push(W("memory", "memory.soft_limit_in_bytes", limit("memory.reservation", m.reservation)));
    if (m.swappiness !== undefined) {
      if (m.swappiness > 100) throw bad("memory.swappiness", `must be 0 to 100, got ${m.swappiness}`);
      out.push(W("memory", "memory.swappiness", m.swappiness));
    }
    if (m.disableOOMKiller) out.push(W("memory", "memory.oom_control", 1));
    if (m.useHierarchy !== undefined) out.push(W("memory", "memory.use_hierarchy", m.useHierarchy ? 1 : 0));
  }

  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined && c.shares !== 0) {
      if (c.shares < 2) throw bad("cpu.shares", `must be at least 2, got ${c.shares}`);
      out.push(W("cpu", "cpu.shares", c.shares));
    }
    // The period first: the kernel checks quota against the period it has (the manager
    // retries the other order when a parent's quota refuses the period).
    if (c.period !== undefined && c.period !== 0) out.push(W("cpu", "cpu.cfs_period_us", c.period));
    if (c.quota !== undefined && c.quota !== 0) out.push(W("cpu", "cpu.cfs_quota_us", limit("cpu.quota", c.quota)));
    if (c.burst !== undefined) out.push(W("cpu", "cpu.cfs_burst_us", c.burst));
    if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) out.push(W("cpu", "cpu.rt_period_us", c.realtimePeriod));
    if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) out.push(W("cpu", "cpu.rt_runtime_us", limit("cpu.realtimeRuntime", c.realtimeRuntime)));
    if (c.idle !== undefined) out.push(W("cpu", "cpu.idle", idle(c.idle)));
    if (c.cpus) out.push(W("cpuset", "cpuset.cpus", cpuList("cpu.cpus", c.cpus)));
    if (c.mems) out.push(W("cpuset", "cpuset.mems", cpuList("cpu.mems", c.mems)));
  }

  if (r.pids?.limit !== undefined && r.pids.limit !== 0) out.push(W("pids", "pids.max", pidsMax(r.pids.limit)));

  const b = r.blockIO;
  if (b) {
    if (b.weight) out.push(W("blkio", "blkio.weight", blkioWeight("blockIO.weight", b.weight)));
    if (b.leafWeight) out.push(W("blkio", "blkio.leaf_weight", blkioWeight("blockIO.leafWeight", b.leafWeight)));
    for (const [i, d] of (b.weightDevice ?? []).entries()) {
      const dev = device(`blockIO.weightDevice[${i}]`, d);
      if (d.weight) out.push(W("blkio", "blkio.weight_device", `${dev} ${blkioWeight(`blockIO.weightDevice[${i}].weight`, d.weight)}`));
      if (d.leafWeight) out.push(W("blkio", "blkio.leaf_weight_device", `${dev} ${blkioWeight(`blockIO.weightDevice[${i}].leafWeight`, d.leafWeight)}`));
    }
    for (const [key, file] of THROTTLE_V1)
      for (const [i, d] of (b[key] ?? []).entries()) out.push(W("blkio", file, `${device(`blockIO.${key}[${i}]`, d)} ${d.rate}`));
  }

  for (const h of r.hugepageLimits ?? []) out.push(W("hugetlb", `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit));

  if (r.network?.classID !== undefined) out.push(W("net_cls", "net_cls.classid", r.network.classID));
  for (const p of r.network?.priorities ?? []) out.push(W("net_prio", "net_prio.ifpriomap", `${ifName(p.name)} ${p.priority}`));

  out.push(...rdmaWrites(r));
  return out;
}

/** The writes of linux.resources on cgroup v2, in the order they must happen. */
export function v2Writes(r: LinuxResources | undefined, opts: WriteOptions): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (!r) r = {};
  void opts; // Device rules are no file on v2: the manager attaches an eBPF program (device-filter.ts).

  const m = r.memory;
  if (m) {
    kernelMemory(m, opts);
    if (m.swappiness !== undefined) refuse("memory.swappiness", "cgroup v2 has no per-cgroup swappiness");
    if (m.disableOOMKiller) refuse("memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer");
    if (m.useHierarchy === false) refuse("memory.useHierarchy", "cgroup v2 is always hierarchical");
    if (m.limit !== undefined) out.push(W("memory", "memory.max", maxOf(limit("memory.limit", m.limit))));
    if (m.swap !== undefined) {
      const swap = swapV2(m.limit, limit("memory.swap", m.swap));
      if (swap !== undefined) out.push(W("memory", "memory.swap.max", maxOf(swap)));
    }
    if (m.reservation !== undefined) out.push(W("memory", "memory.low", maxOf(limit("memory.reservation", m.reservation))));
  }

  const c = r.cpu;
  if (c) {
    if (c.realtimeRuntime || c.realtimePeriod) refuse(c.realtimeRuntime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod", "cgroup v2 has no realtime cpu limits");
    if (c.shares !== undefined && c.shares !== 0) {
      if (c.shares < 2 || c.shares > 262144) throw bad("cpu.shares", `must be 2 to 262144, got ${c.shares}`);
      out.push(W("cpu", "cpu.weight", sharesToWeight(c.shares)));
    }
    if ((c.quota !== undefined && c.quota !== 0) || (c.period !== undefined && c.period !== 0)) {
      const quota = c.quota !== undefined && c.quota > 0 ? String(limit("cpu.quota", c.quota)) : (limit("cpu.quota", c.quota ?? -1), "max");
      out.push(W("cpu", "cpu.max", c.period ? `${quota} ${c.period}` : quota));
    }
    if (c.burst !== undefined) out.push(W("cpu", "cpu.max.burst", c.burst));
    if (c.idle !== undefined) out.push(W("cpu", "cpu.idle", idle(c.idle)));
    if (c.cpus) out.push(W("cpuset", "cpuset.cpus", cpuList("cpu.cpus", c.cpus)));
    if (c.mems) out.push(W("cpuset", "cpuset.mems", cpuList("cpu.mems", c.mems)));
  }

  if (r.pids?.limit !== undefined && r.pids.limit !== 0) out.push(W("pids", "pids.max", pidsMax(r.pids.limit)));

  const b = r.blockIO;
  if (b) {
    if (b.leafWeight || b.weightDevice?.some((d) => d.leafWeight)) refuse("blockIO.leafWeight", "cgroup v2 has no leaf weights");
    if (b.weight) out.push(W("io", "io.weight", blkioToIoWeight(blkioWeight("blockIO.weight", b.weight))));
    for (const [i, d] of (b.weightDevice ?? []).entries())
      if (d.weight) out.push(W("io", "io.weight", `${device(`blockIO.weightDevice[${i}]`, d)} ${blkioToIoWeight(blkioWeight(`blockIO.weightDevice[${i}].weight`, d.weight))}`));
    for (const [key, name] of THROTTLE_V2)
      for (const [i, d] of (b[key] ?? []).entries()) out.push(W("io", "io.max", `${device(`blockIO.${key}[${i}]`, d)} ${name}=${d.rate}`));
  }

  for (const h of r.hugepageLimits ?? []) out.push(W("hugetlb", `hugetlb.${h.pageSize}.max`, h.limit));

  if (r.network?.classID !== undefined || r.network?.priorities?.length)
    refuse("network", "net_cls and net_prio do not exist on cgroup v2");

  out.push(...rdmaWrites(r));

  // Last, so that they override what the fields above wrote (as runc does).
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (!/^[a-z_]+\.[A-Za-z0-9_.]+$/.test(key)) throw bad(`unified[${JSON.stringify(key)}]`, "expected a cgroup file name like \"memory.high\"");
    if (/^cgroup\.(procs|threads|subtree_control|kill|freeze|type)$/.test(key)) refuse(`unified[${JSON.stringify(key)}]`, "is managed by the runtime");
    out.push(W(key.slice(0, key.indexOf(".")), key, value));
  }
  return out;
}

/**
 * memory.kernel and memory.kernelTCP: ignored with runc 1.1's warning (its
 * words first), the rest applied, as runc 1.1 does on v1 and v2 (the
 * runtime-spec marks memory.kernel NOT RECOMMENDED; v2 has no such limits).
 */
function kernelMemory(m: NonNullable<LinuxResources["memory"]>, opts: WriteOptions): void {
  const given = (["kernel", "kernelTCP"] as const).filter((k) => m[k] !== undefined).map((k) => `linux.resources.memory.${k}`);
  if (given.length) opts.warnings?.push(`Kernel memory settings are ignored and will be removed: ${given.join(", ")}`);
}

function deviceWrites(r: LinuxResources, warnings?: string[]): CgroupWrite[] {
  const rules = deviceRules(r.devices, warnings);
  // The same checks as on v2, so one config is accepted or refused on both (a hole in a wider rule v1 would ignore).
  emulateDeviceRules(rules);
  const writes = rules.map((rule, i) => {
    if (rule.access === "") throw bad(`devices[${i}].access`, "must not be empty");
    return W("devices", rule.allow ? "devices.allow" : "devices.deny", deviceLine(rule));
  });
  // Start from deny-all, as runc's emulator does: a new v1 cgroup inherits its parent's
  // allow-all, and a config with only allow rules must not keep it.
  return [W("devices", "devices.deny", "a *:* rwm"), ...writes];
}

function rdmaWrites(r: LinuxResources): CgroupWrite[] {
  return Object.entries(r.rdma ?? {}).map(([dev, l]) => {
    if (!/^[^\s=]+$/.test(dev)) throw bad(`rdma[${JSON.stringify(dev)}]`, "expected a device name");
    return W("rdma", "rdma.max", `${dev} hca_handle=${l.hcaHandles ?? "max"} hca_object=${l.hcaObjects ?? "max"}`);
  });
}

const THROTTLE_V1 = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
] as const;

const THROTTLE_V2 = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
] as const;

function device(field: string, d: { major: number; minor: number }): string {
  if (d.major < 0 || d.minor < 0) throw bad(field, `device numbers must be non-negative, got ${d.major}:${d.minor}`);
  return `${d.major}:${d.minor}`;
}

function blkioWeight(field: string, w: number): number {
  if (w < 10 || w > 1000) throw bad(field, `must be 10 to 1000, got ${w}`);
  return w;
}

function idle(n: number): number {
  if (n !== 0 && n !== 1) throw bad("cpu.idle", `must be 0 or 1, got ${n}`);
  return n;
}

function pidsMax(n: number): string {
  return limit("pids.limit", n) === -1 ? "max" : String(n);
}

function ifName(name: string): string {
  if (!/^[^\s/]{1,15}$/.test(name)) throw bad("network.priorities", `bad interface name ${JSON.stringify(name)}`);
  return name;
}

const maxOf = (n: number): string => (n === -1 ? "max" : String(n));

/** cpu.shares (2…262144) → cpu.weight (1…10000), the conversion runc and crun use. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10…1000) → io.weight (1…10000), as runc converts. */
export function blkioToIoWeight(w: number): number {
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap; v2's memory.swap.max is swap alone. undefined: nothing to write.
 * As runc's ConvertMemorySwapToCgroupV2Value.
 */
export function swapV2(memoryLimit: number | undefined, swap: number): number | undefined {
  if (swap === -1) return -1;
  if (swap === 0) return undefined;
  if (memoryLimit === undefined || memoryLimit === -1 || memoryLimit === 0) throw bad("memory.swap", "a swap limit needs a memory limit");
  if (swap < memoryLimit) throw bad("memory.swap", `memory+swap (${swap}) must not be below memory.limit (${memoryLimit})`);
  return swap - memoryLimit;
}
