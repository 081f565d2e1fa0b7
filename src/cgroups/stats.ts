/**
 * A cgroup's statistics in the shape `runc events` prints
 * (libcontainer/cgroups/stats.go and types/events.go): Go's omitempty
 * fields are left out when zero, so the keys match runc's for the same
 * container. Counters are bigints: memory limits reach 2^63.
 */
import { readdirSync } from "node:fs";
import { posix as path } from "node:path";
import { keyValues, readCgroupFile, readNumber } from "./fsio";

type N = bigint;
export interface MemoryEntry { limit: N; usage?: N; max?: N; failcnt: N }
export interface BlkioEntry { major?: N; minor?: N; op?: string; value?: N }
export interface Stats {
  cpu: {
    usage: { total?: N; percpu?: N[]; percpu_kernel?: N[]; percpu_user?: N[]; kernel: N; user: N };
    throttling: { periods?: N; throttled_periods?: N; throttled_time?: N };
  };
  cpuset: Record<string, N | N[]>;
  memory: { cache?: N; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, N> };
  pids: { current?: N; limit?: N };
  blkio: Record<string, BlkioEntry[]>;
  hugetlb: Record<string, { usage?: N; max?: N; failcnt: N }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

/** What Go's json prints for the max uint64 ("max" in a v2 file). */
const MAX_U64 = 2n ** 64n - 1n;
/** USER_HZ: cpuacct.stat counts in clock ticks. */
const NS_PER_TICK = 10_000_000n;

type DirOf = (controller: string) => string | undefined;

/** Drop zero-valued optional fields, as Go's omitempty does. */
function omitZero<T extends object>(o: T, keep: readonly string[] = []): T {
  for (const [k, v] of Object.entries(o))
    if (!keep.includes(k) && (v === 0n || v === undefined || (Array.isArray(v) && v.length === 0))) delete (o as Record<string, unknown>)[k];
  return o;
}

const numbers = (text: string | undefined): N[] => (text ?? "").trim().split(/\s+/).filter((s) => /^\d+$/.test(s)).map(BigInt);

/** A cpuset list "0-2,4" → [0,1,2,4]. */
function cpuList(text: string | undefined): N[] {
  const out: N[] = [];
  for (const range of (text ?? "").trim().split(",").filter(Boolean)) {
    const [a, b = a] = range.split("-").map(BigInt);
    for (let i = a!; i <= b!; i++) out.push(i);
  }
  return out;
}

function cpusetStats(dir: string | undefined, v2: boolean): Stats["cpuset"] {
  const read = (f: string) => (dir ? readCgroupFile(path.join(dir, f)) : undefined);
  const out: Stats["cpuset"] = {
    cpus: cpuList(read(v2 ? "cpuset.cpus.effective" : "cpuset.cpus")),
    cpu_exclusive: 0n,
    mems: cpuList(read(v2 ? "cpuset.mems.effective" : "cpuset.mems")),
  };
  for (const k of ["mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level"]) out[k] = 0n;
  if (dir && !v2) for (const k of ["cpu_exclusive", ...Object.keys(out).slice(3)]) out[k] = readNumber(path.join(dir, `cpuset.${k}`));
  return out;
}

function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push(omitZero({ major: BigInt(m[1]!), minor: BigInt(m[2]!), op: m[3], value: BigInt(m[4]!) }));
  }
  return out;
}

function memoryEntry(dir: string, prefix: string): MemoryEntry {
  const n = (f: string) => readNumber(path.join(dir, `${prefix}${f}`));
  return omitZero({ limit: n("limit_in_bytes"), usage: n("usage_in_bytes"), max: n("max_usage_in_bytes"), failcnt: n("failcnt") }, ["limit", "failcnt"]);
}

const emptyEntry = (): MemoryEntry => ({ limit: 0n, failcnt: 0n });
const sortedRecord = (m: Map<string, N>): Record<string, N> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Stats of a v1 container from its per-controller directories. */
export function v1Stats(dirOf: DirOf): Stats {
  const cpuacct = dirOf("cpuacct");
  const cpu = dirOf("cpu");
  const memory = dirOf("memory");
  const pids = dirOf("pids");
  const blkio = dirOf("blkio");
  const hugetlb = dirOf("hugetlb");
  const acct = (f: string) => (cpuacct ? readCgroupFile(path.join(cpuacct, f)) : undefined);
  const ticks = keyValues(acct("cpuacct.stat"));
  const throttle = keyValues(cpu ? readCgroupFile(path.join(cpu, "cpu.stat")) : undefined);
  const stat = keyValues(memory ? readCgroupFile(path.join(memory, "memory.stat")) : undefined);
  const stats: Stats = {
    cpu: {
      usage: omitZero({
        total: cpuacct ? readNumber(path.join(cpuacct, "cpuacct.usage")) : 0n,
        percpu: numbers(acct("cpuacct.usage_percpu")),
        percpu_kernel: numbers(acct("cpuacct.usage_percpu_sys")),
        percpu_user: numbers(acct("cpuacct.usage_percpu_user")),
        kernel: (ticks.get("system") ?? 0n) * NS_PER_TICK,
        user: (ticks.get("user") ?? 0n) * NS_PER_TICK,
      }, ["kernel", "user"]),
      throttling: omitZero({ periods: throttle.get("nr_periods"), throttled_periods: throttle.get("nr_throttled"), throttled_time: throttle.get("throttled_time") }),
    },
    cpuset: cpusetStats(dirOf("cpuset"), false),
    memory: omitZero({
      cache: stat.get("cache"),
      usage: memory ? memoryEntry(memory, "memory.") : emptyEntry(),
      swap: memory ? memoryEntry(memory, "memory.memsw.") : emptyEntry(),
      kernel: memory ? memoryEntry(memory, "memory.kmem.") : emptyEntry(),
      kernelTCP: memory ? memoryEntry(memory, "memory.kmem.tcp.") : emptyEntry(),
      raw: stat.size ? sortedRecord(stat) : undefined,
    }),
    pids: omitZero({ current: pids ? readNumber(path.join(pids, "pids.current")) : 0n, limit: pids ? readNumber(path.join(pids, "pids.max")) : 0n }),
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
  if (blkio) {
    const b = (f: string) => blkioEntries(readCgroupFile(path.join(blkio, f)));
    const entries = { ioServiceBytesRecursive: b("blkio.throttle.io_service_bytes_recursive"), ioServicedRecursive: b("blkio.throttle.io_serviced_recursive") };
    stats.blkio = omitZero(entries) as Stats["blkio"];
  }
  if (hugetlb) {
    for (const size of hugePageSizes(hugetlb, ".limit_in_bytes")) {
      const n = (f: string) => readNumber(path.join(hugetlb, `hugetlb.${size}.${f}`));
      stats.hugetlb[size] = omitZero({ usage: n("usage_in_bytes"), max: n("max_usage_in_bytes"), failcnt: n("failcnt") }, ["failcnt"]);
    }
  }
  return stats;
}

/** Stats of a v2 container from its one directory. */
export function v2Stats(dir: string): Stats {
  const read = (f: string) => readCgroupFile(path.join(dir, f));
  const n = (f: string, max = MAX_U64) => readNumber(path.join(dir, f), max);
  const cpu = keyValues(read("cpu.stat"));
  const stat = keyValues(read("memory.stat"));
  const events = keyValues(read("memory.events"));
  const usage = n("memory.current");
  const limit = read("memory.max") === undefined ? 0n : n("memory.max");
  const swapUsage = n("memory.swap.current");
  const swapLimit = read("memory.swap.max") === undefined ? 0n : n("memory.swap.max");
  const stats: Stats = {
    cpu: {
      usage: omitZero({
        total: (cpu.get("usage_usec") ?? 0n) * 1000n,
        kernel: (cpu.get("system_usec") ?? 0n) * 1000n,
        user: (cpu.get("user_usec") ?? 0n) * 1000n,
      }, ["kernel", "user"]),
      throttling: omitZero({ periods: cpu.get("nr_periods"), throttled_periods: cpu.get("nr_throttled"), throttled_time: (cpu.get("throttled_usec") ?? 0n) * 1000n }),
    },
    cpuset: cpusetStats(dir, true),
    memory: omitZero({
      cache: stat.get("file"),
      usage: omitZero({ limit, usage, max: n("memory.peak"), failcnt: events.get("max") ?? 0n }, ["limit", "failcnt"]),
      // As runc's fs2: swap is reported as memory+swap.
      swap: omitZero({ limit: swapLimit === MAX_U64 || limit === MAX_U64 ? MAX_U64 : swapLimit + limit, usage: swapUsage + usage, failcnt: 0n }, ["limit", "failcnt"]),
      kernel: emptyEntry(),
      kernelTCP: emptyEntry(),
      raw: stat.size ? sortedRecord(stat) : undefined,
    }),
    pids: omitZero({ current: n("pids.current"), limit: read("pids.max")?.trim() === "max" ? 0n : n("pids.max") }),
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (read("io.stat") ?? "").split("\n")) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (!m) continue;
    const f = keyValues(kv.map((p) => p.replace("=", " ")).join("\n"));
    const at = { major: BigInt(m[1]!), minor: BigInt(m[2]!) };
    bytes.push({ ...at, op: "Read", value: f.get("rbytes") ?? 0n }, { ...at, op: "Write", value: f.get("wbytes") ?? 0n });
    ios.push({ ...at, op: "Read", value: f.get("rios") ?? 0n }, { ...at, op: "Write", value: f.get("wios") ?? 0n });
  }
  stats.blkio = omitZero({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios }) as Stats["blkio"];
  for (const size of hugePageSizes(dir, ".max")) {
    const ev = keyValues(read(`hugetlb.${size}.events`));
    stats.hugetlb[size] = omitZero({ usage: n(`hugetlb.${size}.current`), failcnt: ev.get("max") ?? 0n }, ["failcnt"]);
  }
  return stats;
}

/** Page sizes ("2MB") that have a hugetlb.SIZE<suffix> file in dir. */
function hugePageSizes(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith("hugetlb.") && f.endsWith(suffix) && !f.includes(".rsvd."))
      .map((f) => f.slice("hugetlb.".length, -suffix.length));
  } catch {
    return [];
  }
}

/** JSON with bigints printed as plain numbers (Go prints uint64 in full). */
export function statsJSON(value: unknown): string {
  const marker = "\u0001bigint:";
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? marker + v.toString() : v)).replace(/"\\u0001bigint:(-?\d+)"/g, "$1");
}
