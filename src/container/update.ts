/**
 * update: write new limits to a live container's cgroup (runc update). The
 * resources come from a LinuxResources JSON document or from runc's flags;
 * either is validated in full before the first write.
 */
import { cgroupManagerOf } from "../cgroups/manager";
import type { LinuxResources } from "../cgroups/resources";
import { BuncError } from "../errors";
import { parseWith, LinuxResources as LinuxResourcesSchema } from "../spec/config";
import { deriveStatus } from "./status";
import type { Store } from "./store";
import { guard } from "./transitions";

/**
 * Write the given resources to the container's cgroup, then record them with
 * what was in force (the caller holds the lock). Returns the warnings of
 * settings ignored as runc ignores them.
 */
export function updateContainer(store: Store, id: string, resources: LinuxResources): string[] {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  guard("update", id, status);
  const warnings = cgroupManagerOf(record!).apply(resources, { update: true, current: record!.resources });
  store.save({ ...record!, resources: mergeResources(record!.resources, resources) });
  return warnings;
}

/**
 * The resources in force after an update of `given` over `current`: each
 * setting given replaces the one before, the others stay (memory.limit
 * alone keeps memory.swap). A list (devices, hugepageLimits, a device
 * list of blockIO, rdma's map) is replaced whole, as the cgroup's is.
 */
export function mergeResources(current: LinuxResources | undefined, given: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const old = out[key];
    const isRecord = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    out[key] = isRecord(value) && isRecord(old) && key !== "rdma" ? { ...(old as object), ...dropUndefined(value as object) } : value;
  }
  return out as LinuxResources;
}

function dropUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A LinuxResources JSON document (update -r), validated with the config's schema. */
export function parseResources(text: string, source: string): LinuxResources {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BuncError(`${source}: invalid JSON: ${(e as Error).message}`, { code: "CONFIG" });
  }
  return parseWith(LinuxResourcesSchema, json, source);
}

/** runc update's flags, as given on the command line (undefined: not given). */
export interface UpdateFlags {
  memory?: string;
  "memory-swap"?: string;
  "memory-reservation"?: string;
  "cpu-quota"?: string;
  "cpu-period"?: string;
  "cpu-share"?: string;
  "cpu-rt-period"?: string;
  "cpu-rt-runtime"?: string;
  "cpuset-cpus"?: string;
  "cpuset-mems"?: string;
  "pids-limit"?: string;
  "blkio-weight"?: string;
  /** Obsolete in runc 1.1: parsed, then ignored with a warning. */
  "kernel-memory"?: string;
  "kernel-memory-tcp"?: string;
}

/** The LinuxResources that runc update's flags ask for; only given flags are set. */
export function resourcesFromFlags(f: UpdateFlags): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources["memory"]> = {};
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  if (f.memory !== undefined) memory.limit = bytes(f.memory, "memory");
  if (f["memory-swap"] !== undefined) memory.swap = bytes(f["memory-swap"], "memory-swap");
  if (f["memory-reservation"] !== undefined) memory.reservation = bytes(f["memory-reservation"], "memory-reservation");
  if (f["kernel-memory"] !== undefined) memory.kernel = bytes(f["kernel-memory"], "kernel-memory");
  if (f["kernel-memory-tcp"] !== undefined) memory.kernelTCP = bytes(f["kernel-memory-tcp"], "kernel-memory-tcp");
  if (f["cpu-quota"] !== undefined) cpu.quota = int(f["cpu-quota"], "cpu-quota", true);
  if (f["cpu-period"] !== undefined) cpu.period = int(f["cpu-period"], "cpu-period");
  if (f["cpu-share"] !== undefined) cpu.shares = int(f["cpu-share"], "cpu-share");
  if (f["cpu-rt-period"] !== undefined) cpu.realtimePeriod = int(f["cpu-rt-period"], "cpu-rt-period");
  if (f["cpu-rt-runtime"] !== undefined) cpu.realtimeRuntime = int(f["cpu-rt-runtime"], "cpu-rt-runtime", true);
  if (f["cpuset-cpus"] !== undefined) cpu.cpus = f["cpuset-cpus"];
  if (f["cpuset-mems"] !== undefined) cpu.mems = f["cpuset-mems"];
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (f["pids-limit"] !== undefined) r.pids = { limit: int(f["pids-limit"], "pids-limit", true) };
  if (f["blkio-weight"] !== undefined) r.blockIO = { weight: int(f["blkio-weight"], "blkio-weight") };
  return r;
}

function int(value: string, flag: string, signed = false): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || (!signed && n < 0))
    throw new BuncError(`invalid value for ${flag}: ${JSON.stringify(value)}`, { code: "EINVAL" });
  return n;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** A byte size as runc's RAMInBytes reads it: "-1", "1024", "10m", "1.5g" (binary units). */
export function bytes(value: string, flag: string): number {
  if (value.trim() === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new BuncError(`invalid value for ${flag}: invalid size: ${JSON.stringify(value)}`, { code: "EINVAL" });
  return Math.floor(Number(m[1]) * unit);
}
