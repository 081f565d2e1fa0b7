/**
 * What the systemd cgroup driver tells systemd, as runc 1.1's
 * libcontainer/cgroups/systemd does: the scope's name and slice from
 * cgroupsPath "slice:prefix:name", and the unit properties of
 * StartTransientUnit and SetUnitProperties (systemd.resource-control(5),
 * org.freedesktop.systemd1(5)). Pure, so unit-tested.
 */
import { BuncError } from "../../errors";
import { emulateDeviceRules } from "../device-filter";
import { deviceRules } from "../devices";
import type { LinuxResources } from "../resources";
import { swapV2, sharesToWeight } from "../writes";
import { type Variant, variant } from "./wire";

export type Property = [name: string, value: Variant];

/** systemd's "infinity" for the uint64 limits. */
const INFINITY = (1n << 64n) - 1n;
/** The CFS period systemd assumes when only a quota is given (runc's defCPUQuotaPeriod). */
const DEFAULT_PERIOD = 100_000;

export interface ScopeName {
  /** The slice the scope goes in ("system.slice" unless cgroupsPath names one). */
  slice: string;
  /** prefix-name.scope */
  unit: string;
  /** The scope's cgroup below the root systemd manages: the slice's expansion, then the unit. */
  cgroup: string;
}

function configError(why: string): BuncError {
  return new BuncError(`config.json: linux.cgroupsPath: ${why}`, { code: "CONFIG" });
}

/**
 * The scope for a container: cgroupsPath "slice:prefix:name" (the
 * slice "" means system.slice), or runc-ID.scope in system.slice without
 * one (runc's specconv CreateCgroupConfig and getUnitName).
 */
export function scopeName(id: string, cgroupsPath: string | undefined): ScopeName {
  let slice = "", prefix = "runc", name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(":");
    if (parts.length !== 3) throw configError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`);
    [slice, prefix, name] = parts as [string, string, string];
  }
  // runc makes a slice unit for a name ending in .slice; its PIDs then go in a slice, which systemd refuses.
  if (name.endsWith(".slice")) throw new BuncError(`linux.cgroupsPath: a container in a slice of its own (${JSON.stringify(name)}) is not supported by bunc's systemd driver; give it a scope name`, { code: "ENOTSUP" });
  if (!name) throw configError("the name part of \"slice:prefix:name\" is empty");
  const unit = `${prefix}-${name}.scope`;
  if (unit.includes("/")) throw configError(`a unit name cannot contain "/": ${JSON.stringify(unit)}`);
  slice ||= "system.slice";
  return { slice, unit, cgroup: `${expandSlice(slice)}/${unit}`.replace(/^\/\//, "/") };
}

/**
 * A slice's cgroup path: a-b.slice is /a.slice/a-b.slice, -.slice is /
 * (systemd.slice(5); runc's ExpandSlice).
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice") || slice.length <= ".slice".length || slice.includes("/")) throw configError(`invalid slice name: ${slice}`);
  const name = slice.slice(0, -".slice".length);
  if (name === "-") return "/";
  let path = "", prefix = "";
  for (const component of name.split("-")) {
    if (component === "") throw configError(`invalid slice name: ${slice}`);
    path += `/${prefix}${component}.slice`;
    prefix += `${component}-`;
  }
  return path;
}

/** The properties of StartTransientUnit for the container's scope (runc's Apply), before the resource ones. */
export function scopeProperties(id: string, scope: ScopeName, pid: number, version: 1 | 2): Property[] {
  return [
    ["Description", variant("s", `libcontainer container ${id}`)],
    ["Slice", variant("s", scope.slice)],
    // The container may make sub-cgroups of its own (systemd.resource-control(5), Delegate=).
    ["Delegate", variant("b", true)],
    ["PIDs", variant("au", [pid])],
    ["MemoryAccounting", variant("b", true)],
    ["CPUAccounting", variant("b", true)],
    [version === 1 ? "BlockIOAccounting" : "IOAccounting", variant("b", true)],
    ["TasksAccounting", variant("b", true)],
    // No After=/Conflicts= on shutdown.target: the container's life is its own.
    ["DefaultDependencies", variant("b", false)],
  ];
}

/** A cpuset list as systemd's AllowedCPUs/AllowedMemoryNodes bitmask: byte i holds CPUs 8i…8i+7, lowest bit first. */
export function cpuMask(list: string): number[] {
  const bytes: number[] = [];
  for (const range of list.split(",").map((r) => r.trim()).filter(Boolean)) {
    const [a, b = a] = range.split("-").map((n) => Number(n.trim()));
    if (!Number.isInteger(a) || !Number.isInteger(b) || a! < 0 || b! < a! || b! > 65535) throw new BuncError(`linux.resources.cpu: bad cpuset list ${JSON.stringify(list)}`, { code: "CONFIG" });
    for (let cpu = a!; cpu <= b!; cpu++) {
      while (bytes.length <= cpu >> 3) bytes.push(0);
      bytes[cpu >> 3]! |= 1 << (cpu & 7);
    }
  }
  if (bytes.length === 0) throw new BuncError(`linux.resources.cpu: empty cpuset list ${JSON.stringify(list)}`, { code: "CONFIG" });
  return bytes;
}

/** CPUQuotaPerSecUSec from a CFS quota and period, rounded up to 10 ms as systemd keeps it (runc's addCpuQuota). */
function quotaProperties(quota: number, period: number, systemdVersion: number): Property[] {
  const out: Property[] = [];
  // CPUQuotaPeriodSec= came in systemd 242.
  if (period !== 0 && systemdVersion >= 242) out.push(["CPUQuotaPeriodUSec", variant("t", BigInt(period))]);
  if (quota !== 0 || period !== 0) {
    let perSec = INFINITY;
    if (quota > 0) {
      let usec = BigInt(Math.floor((quota * 1_000_000) / (period || DEFAULT_PERIOD)));
      if (usec % 10_000n !== 0n) usec = (usec / 10_000n + 1n) * 10_000n;
      perSec = usec;
    }
    out.push(["CPUQuotaPerSecUSec", variant("t", perSec)]);
  }
  return out;
}

const u64 = (n: number): bigint => (n === -1 ? INFINITY : BigInt(n));

/**
 * The resource properties systemd knows for linux.resources (runc's
 * genV1ResourcesProperties / genV2ResourcesProperties). The rest, and these
 * too, are then written to the cgroup files by the cgroupfs manager, as
 * runc does. opts.devices: the device rules too (create; update when given).
 */
export function resourceProperties(r: LinuxResources | undefined, version: 1 | 2, systemdVersion: number, opts: { devices?: boolean; procDevices?: string; exists?: (path: string) => boolean; warnings?: string[] } = {}): Property[] {
  const out: Property[] = [];
  if (opts.devices) out.push(...deviceProperties(r, opts.procDevices ?? "", opts.exists ?? (() => true), opts.warnings));
  if (!r) return out;
  const m = r.memory ?? {};
  const c = r.cpu ?? {};
  if (version === 1) {
    if (m.limit) out.push(["MemoryLimit", variant("t", u64(m.limit))]);
    if (c.shares) out.push(["CPUShares", variant("t", BigInt(c.shares))]);
    out.push(...quotaProperties(c.quota ?? 0, c.period ?? 0, systemdVersion));
    if (r.blockIO?.weight) out.push(["BlockIOWeight", variant("t", BigInt(r.blockIO.weight))]);
  } else {
    if (m.limit) out.push(["MemoryMax", variant("t", u64(m.limit))]);
    if (m.reservation) out.push(["MemoryLow", variant("t", u64(m.reservation))]);
    const swap = m.swap === undefined ? undefined : m.limit === -1 && m.swap === 0 ? -1 : swapV2(m.limit, m.swap);
    if (swap !== undefined) out.push(["MemorySwapMax", variant("t", u64(swap))]);
    if (c.shares) out.push(["CPUWeight", variant("t", BigInt(sharesToWeight(c.shares)))]);
    out.push(...quotaProperties(c.quota ?? 0, c.period ?? 0, systemdVersion));
  }
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) out.push(["TasksMax", variant("t", u64(pids))]);
  // AllowedCPUs=/AllowedMemoryNodes= came in systemd 244.
  if (systemdVersion >= 244) {
    if (c.cpus) out.push(["AllowedCPUs", variant("ay", cpuMask(c.cpus))]);
    if (c.mems) out.push(["AllowedMemoryNodes", variant("ay", cpuMask(c.mems))]);
  }
  if (version === 2) out.push(...unifiedProperties(r.unified ?? {}, systemdVersion));
  return out;
}

/**
 * The device rules as DevicePolicy= and DeviceAllow= (runc's
 * generateDeviceProperties): the rules replayed as cgroup v1 would (with the
 * default devices); allow-all is DevicePolicy=auto; a deny list systemd
 * cannot say, so it gets deny-all (bunc's own rules, written after, are the
 * ones in force); an allow list becomes DeviceAllow= entries: /dev/char/M:m,
 * a group name from /proc/devices for M:*, char-* / block-* for *:*.
 * Without them systemd would, on v1, move the container out of its devices
 * cgroup whenever it realizes the unit again (cg_migrate_v1_controllers).
 */
export function deviceProperties(r: LinuxResources | undefined, procDevices: string, exists: (path: string) => boolean, warnings?: string[]): Property[] {
  const filter = emulateDeviceRules(deviceRules(r?.devices));
  const reset: Property[] = [["DevicePolicy", variant("s", "strict")], ["DeviceAllow", variant("a(ss)", [])]];
  if (filter.defaultAllow) {
    if (filter.exceptions.length === 0) return [["DevicePolicy", variant("s", "auto")], ["DeviceAllow", variant("a(ss)", [])]];
    warnings?.push("systemd doesn't support blacklist device rules -- applying temporary deny-all rule");
    return reset;
  }
  const allow: [string, string][] = [];
  for (const e of filter.exceptions) {
    const perms = (e.access & 2 ? "r" : "") + (e.access & 4 ? "w" : "") + (e.access & 1 ? "m" : "");
    const kind = e.type === "b" ? "block" : "char";
    if (e.major === "*") {
      if (e.minor !== "*") {
        warnings?.push(`systemd doesn't support '*:n' device rules -- temporarily ignoring rule: ${e.type} *:${e.minor} ${perms}`);
        continue;
      }
      allow.push([`${kind}-*`, perms]);
    } else if (e.minor === "*") {
      const group = deviceGroup(procDevices, e.type, e.major);
      if (!group) {
        warnings?.push(`could not find device group for '${e.type}/${e.major}' in /proc/devices -- temporarily ignoring rule`);
        continue;
      }
      allow.push([`${kind}-${group}`, perms]);
    } else {
      const node = `/dev/${kind}/${e.major}:${e.minor}`;
      // systemd looks the node up; one it cannot find it refuses (runc skips it).
      if (!exists(node) && !exists(`/sys${node}`)) {
        warnings?.push(`skipping device ${node} for systemd: no such device`);
        continue;
      }
      allow.push([node, perms]);
    }
  }
  return [...reset, ["DeviceAllow", variant("a(ss)", allow)]];
}

/** The driver name of a device major in /proc/devices' "Character devices:" or "Block devices:" list. */
function deviceGroup(procDevices: string, type: "b" | "c", major: number): string | undefined {
  let section = "";
  for (const line of procDevices.split("\n").map((l) => l.trim())) {
    if (line === "Character devices:") section = "c";
    else if (line === "Block devices:") section = "b";
    else if (section === type) {
      const m = /^(\d+)\s+(\S+)$/.exec(line);
      if (m && Number(m[1]) === major) return m[2];
    }
  }
  return undefined;
}

/** linux.resources.unified entries systemd has a property for (runc's unifiedResToSystemdProps); the others only go to the files. */
function unifiedProperties(unified: Record<string, string>, systemdVersion: number): Property[] {
  const out: Property[] = [];
  const num = (k: string, v: string): bigint => {
    if (v === "max") return INFINITY;
    if (!/^\d+$/.test(v)) throw new BuncError(`linux.resources.unified: ${k}: ${JSON.stringify(v)} is not a number or "max"`, { code: "CONFIG" });
    return BigInt(v);
  };
  const memory: Record<string, string> = { "memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin", "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax" };
  for (const [k, raw] of Object.entries(unified)) {
    const v = raw.trim();
    if (k === "cpu.max") {
      const [q = "", p] = v.split(/\s+/);
      out.push(...quotaProperties(q === "max" ? 0 : Number(num(k, q)), p === undefined ? DEFAULT_PERIOD : Number(num(k, p)), systemdVersion));
    } else if (k === "cpu.weight") out.push(["CPUWeight", variant("t", num(k, v))]);
    else if (k === "pids.max") out.push(["TasksMax", variant("t", num(k, v))]);
    else if (memory[k]) out.push([memory[k]!, variant("t", num(k, v))]);
    else if ((k === "cpuset.cpus" || k === "cpuset.mems") && systemdVersion >= 244) out.push([k === "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", variant("ay", cpuMask(v))]);
  }
  return out;
}

/**
 * Unit properties from annotations org.systemd.property.NAME=VALUE, as
 * runc's initSystemdProps: VALUE in GVariant text form; only the simple
 * forms are understood here (a quoted string, true/false, a number, or a
 * "uint64 N" / "int32 N"-style typed number); NAMEs ending in a lowercase
 * letter then "Sec" become "…USec" in microseconds.
 */
export function annotationProperties(annotations: Record<string, string> | undefined): Property[] {
  const out: Property[] = [];
  for (const [k, text] of Object.entries(annotations ?? {})) {
    if (!k.startsWith("org.systemd.property.")) continue;
    let name = k.slice("org.systemd.property.".length);
    if (!/^[A-Za-z]{3,}$/.test(name)) throw new BuncError(`annotation ${k} name incorrect: must be 3 or more latin letters`, { code: "CONFIG" });
    let value = parseVariantText(k, text);
    if (/[a-z]Sec$/.test(name)) {
      name = `${name.slice(0, -3)}USec`;
      if (typeof value.value !== "number" && typeof value.value !== "bigint") throw new BuncError(`annotation ${k}=${text} value parse error: not a number`, { code: "CONFIG" });
      value = variant("t", BigInt(Math.floor(Number(value.value) * 1_000_000)));
    }
    out.push([name, value]);
  }
  return out;
}

const TYPED: Record<string, string> = { byte: "y", int16: "n", uint16: "q", int32: "i", uint32: "u", int64: "x", uint64: "t", double: "d" };

function parseVariantText(k: string, text: string): Variant {
  const t = text.trim();
  const fail = () => new BuncError(`annotation ${k}=${text} value parse error: bunc understands strings, booleans and numbers only`, { code: "CONFIG" });
  if (t === "true" || t === "false") return variant("b", t === "true");
  const quoted = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(t);
  if (quoted) return variant("s", quoted[1] ?? quoted[2]);
  const typed = /^(\w+)\s+(-?\d+(?:\.\d+)?)$/.exec(t);
  if (typed) {
    const code = TYPED[typed[1]!];
    if (!code) throw fail();
    return variant(code, code === "x" || code === "t" ? BigInt(typed[2]!) : Number(typed[2]));
  }
  // GVariant's default for a plain integer is int32, for one with a point double.
  if (/^-?\d+$/.test(t)) return variant("i", Number(t));
  if (/^-?\d+\.\d+$/.test(t)) return variant("d", Number(t));
  throw fail();
}
