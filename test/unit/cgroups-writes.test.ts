/**
 * src/cgroups/writes.ts and the managers' apply(): linux.resources → cgroup
 * file writes for v1 and v2, checked against a fake cgroupfs (a temp dir per
 * controller), and every invalid value refused before anything is written.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { V1Manager } from "../../src/cgroups/v1";
import { deviceRules } from "../../src/cgroups/devices";
import { deviceProgram, emulateDeviceRules } from "../../src/cgroups/device-filter";
import { V2Manager } from "../../src/cgroups/v2";
import { blkioToIoWeight, sharesToWeight, swapV2, v1Writes, v2Writes } from "../../src/cgroups/writes";
import { BuncError } from "../../src/errors";

const tmp = mkdtempSync(path.join(tmpdir(), "bunc-cgfs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const CONTROLLERS = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls", "net_prio", "rdma"];

/**
 * The files of a fake cgroup directory, there (empty) before any write as in a
 * real cgroupfs, where a write never creates a file.
 */
const V1_FILES: Record<string, string[]> = {
  cpu: ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"],
  cpuset: ["cpuset.cpus", "cpuset.mems"],
  memory: ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.use_hierarchy"],
  devices: ["devices.allow", "devices.deny"],
  freezer: ["freezer.state"],
  blkio: ["blkio.weight", "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"],
  pids: ["pids.max"],
  hugetlb: ["hugetlb.2MB.limit_in_bytes", "hugetlb.1GB.limit_in_bytes"],
  net_cls: ["net_cls.classid"],
  net_prio: ["net_prio.ifpriomap"],
  rdma: ["rdma.max"],
};
const V2_FILES = ["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "memory.max", "memory.swap.max", "memory.low", "memory.high",
  "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max", "cgroup.freeze", "cgroup.kill"];

const touch = (dir: string, names: readonly string[] = []) => { for (const f of names) writeFileSync(path.join(dir, f), ""); };
/** A file's contents; undefined when nothing was written to it (or it is not there). */
const written = (f: string) => (existsSync(f) && readFileSync(f, "utf8") !== "" ? readFileSync(f, "utf8") : undefined);

/** A fake v1 cgroupfs: ROOT/<controller>/c for each controller given. */
function fakeV1(controllers = CONTROLLERS): { mgr: V1Manager; file: (c: string, f: string) => string | undefined; files: () => string[] } {
  const root = path.join(tmp, `v1-${++n}`);
  const paths: Record<string, string> = {};
  for (const c of controllers) {
    const dir = path.join(root, c, "c");
    mkdirSync(dir, { recursive: true });
    touch(dir, V1_FILES[c]);
    paths[path.join(root, c)] = dir;
  }
  const file = (c: string, f: string) => written(path.join(root, c, "c", f));
  const files = () => controllers.flatMap((c) => readdirSync(path.join(root, c, "c")).filter((f) => file(c, f) !== undefined).map((f) => `${c}/${f}`)).sort();
  return { mgr: V1Manager.fromPaths(paths), file, files };
}

function fakeV2(controllers = "cpuset cpu io memory hugetlb pids rdma"): { mgr: V2Manager; dir: string; file: (f: string) => string | undefined; programs: Uint8Array[] } {
  const root = path.join(tmp, `v2-${++n}`);
  const dir = path.join(root, "c");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "cgroup.controllers"), controllers + "\n");
  touch(dir, V2_FILES);
  const file = (f: string) => written(path.join(dir, f));
  const programs: Uint8Array[] = [];
  return { mgr: V2Manager.fromPaths({ [root]: dir }, { attachDevices: (d, p) => (expect(d).toBe(dir), programs.push(p)) }), dir, file, programs };
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

const noDevices = { devices: false };

describe("v1Writes", () => {
  test("nothing set → nothing written (not even a read)", () => {
    expect(v1Writes({}, noDevices)).toEqual([]);
    expect(v1Writes(undefined, noDevices)).toEqual([]);
  });

  test("every field maps to its v1 file, in order", () => {
    const w = v1Writes({
      memory: { limit: 8388608, reservation: 4194304, swap: 16777216, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: "0-1", mems: "0", idle: 1 },
      pids: { limit: 10 },
      blockIO: {
        weight: 500, leafWeight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 600, leafWeight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 3 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 4 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }],
      network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx5_1: { hcaHandles: 3 } },
    }, noDevices);
    expect(w.map((x) => `${x.controller}:${x.file}=${x.value}`)).toEqual([
      "memory:memory.limit_in_bytes=8388608",
      "memory:memory.memsw.limit_in_bytes=16777216",
      "memory:memory.soft_limit_in_bytes=4194304",
      "memory:memory.swappiness=10",
      "memory:memory.oom_control=1",
      "memory:memory.use_hierarchy=1",
      "cpu:cpu.shares=512",
      "cpu:cpu.cfs_period_us=100000",
      "cpu:cpu.cfs_quota_us=50000",
      "cpu:cpu.cfs_burst_us=1000",
      "cpu:cpu.rt_period_us=1000000",
      "cpu:cpu.rt_runtime_us=950000",
      "cpu:cpu.idle=1",
      "cpuset:cpuset.cpus=0-1",
      "cpuset:cpuset.mems=0",
      "pids:pids.max=10",
      "blkio:blkio.weight=500",
      "blkio:blkio.leaf_weight=300",
      "blkio:blkio.weight_device=8:0 600",
      "blkio:blkio.leaf_weight_device=8:0 200",
      "blkio:blkio.throttle.read_bps_device=8:0 1048576",
      "blkio:blkio.throttle.write_bps_device=8:0 2",
      "blkio:blkio.throttle.read_iops_device=8:0 3",
      "blkio:blkio.throttle.write_iops_device=8:0 4",
      "hugetlb:hugetlb.2MB.limit_in_bytes=2097152",
      "net_cls:net_cls.classid=1048577",
      "net_prio:net_prio.ifpriomap=eth0 5",
      "rdma:rdma.max=mlx5_1 hca_handle=3 hca_object=max",
    ]);
  });

  test("-1 is unlimited; an unlimited memory lifts swap too; pids -1 is max", () => {
    expect(v1Writes({ memory: { limit: -1 }, pids: { limit: -1 } }, noDevices).map((w) => w.value)).toEqual(["-1", "-1", "max"]);
  });

  test("device rules: deny-all first (as runc's emulator), then the config's, then runc's defaults", () => {
    const w = v1Writes({ devices: [{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 3, access: "rw" }] }, { devices: true });
    expect(w.slice(0, 4).map((x) => `${x.file} ${x.value}`)).toEqual(["devices.deny a *:* rwm", "devices.deny a *:* rwm", "devices.deny c 1:3 rw", "devices.allow c *:* m"]);
  });

  test("a config with no device rules still starts from deny-all (a new v1 cgroup inherits allow-all)", () => {
    const w = v1Writes({}, { devices: true });
    expect(`${w[0]!.file} ${w[0]!.value}`).toBe("devices.deny a *:* rwm");
    expect(w.slice(1).every((x) => x.file === "devices.allow")).toBe(true);
  });

  test("invalid values are refused, naming the field", () => {
    expect(error(() => v1Writes({ memory: { limit: -5 } }, noDevices))).toContain("linux.resources.memory.limit");
    expect(error(() => v1Writes({ memory: { limit: 100, swap: 50 } }, noDevices))).toContain("memory.swap");
    expect(error(() => v1Writes({ memory: { swappiness: 101 } }, noDevices))).toContain("memory.swappiness");
    expect(error(() => v1Writes({ cpu: { cpus: "0-x" } }, noDevices))).toContain("cpu.cpus");
    expect(error(() => v1Writes({ cpu: { cpus: "3-1" } }, noDevices))).toContain("backwards");
    expect(error(() => v1Writes({ cpu: { shares: 1 } }, noDevices))).toContain("cpu.shares");
    expect(error(() => v1Writes({ cpu: { idle: 2 } }, noDevices))).toContain("cpu.idle");
    expect(error(() => v1Writes({ pids: { limit: -2 } }, noDevices))).toContain("pids.limit");
    expect(error(() => v1Writes({ blockIO: { weight: 5 } }, noDevices))).toContain("blockIO.weight");
    expect(error(() => v1Writes({ unified: { "memory.high": "1" } }, noDevices))).toContain("invalid configuration: linux.resources.unified: needs cgroup v2");
    expect(error(() => v1Writes({ devices: [{ allow: true, access: "" }] }, noDevices))).toContain("devices[0].access");
    expect(error(() => v1Writes({ devices: [{ allow: true, type: "c", major: 1, minor: 3, access: "xy" }] }, noDevices))).toBe('linux.resources.devices[0].access "xy": no known access letter (expected r, w, m)');
  });

  test("memory.kernel and kernelTCP are ignored with runc 1.1's warning, the rest applied (v1 and v2)", () => {
    for (const writes of [v1Writes, v2Writes]) {
      const warnings: string[] = [];
      const w = writes({ memory: { limit: 8388608, kernel: 4194304, kernelTCP: 1048576 } }, { devices: false, warnings });
      expect(w.map((x) => x.file)).toEqual([writes === v1Writes ? "memory.limit_in_bytes" : "memory.max"]);
      expect(warnings).toEqual(["Kernel memory settings are ignored and will be removed: linux.resources.memory.kernel, linux.resources.memory.kernelTCP"]);
    }
  });

  test("an unknown letter in a device rule's access is dropped with a warning, as runc ignores it", () => {
    const warnings: string[] = [];
    const devices = [{ allow: false, access: "rwm" }, { allow: false, type: "c" as const, major: 1, minor: 11, access: "rwa" }];
    const w = v1Writes({ devices }, { devices: true, warnings });
    expect(w.slice(0, 3).map((x) => `${x.file} ${x.value}`)).toEqual(["devices.deny a *:* rwm", "devices.deny a *:* rwm", "devices.deny c 1:11 rw"]);
    expect(warnings).toEqual(['linux.resources.devices[1].access "rwa": unknown access "a" ignored (expected r, w, m)']);
  });
});

describe("V1Manager.apply on a fake cgroupfs", () => {
  test("writes the values to the controllers' files; devices only on create", () => {
    const { mgr, file } = fakeV1();
    mgr.apply({ memory: { limit: 8388608 }, cpu: { quota: 20000, period: 100000 }, pids: { limit: 5 } });
    expect(file("memory", "memory.limit_in_bytes")).toBe("8388608");
    expect(file("cpu", "cpu.cfs_quota_us")).toBe("20000");
    expect(file("cpu", "cpu.cfs_period_us")).toBe("100000");
    expect(file("pids", "pids.max")).toBe("5");
    // One open of devices.allow, one write per rule (a regular file here keeps them all, in order).
    expect(file("devices", "devices.allow")).toBe(["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"].join(""));
    const again = fakeV1();
    again.mgr.apply({ pids: { limit: 6 } }, { update: true });
    expect(again.files()).toEqual(["pids/pids.max"]);
  });

  test("a file the cgroup lacks: the error says it does not exist and names it, as runc's (a write creates no file)", () => {
    const { mgr, files } = fakeV1(["blkio"]);
    const dir = Object.values(mgr.paths)[0]!;
    rmSync(path.join(dir, "blkio.weight"));
    expect(error(() => mgr.apply({ blockIO: { weight: 500 } }, { update: true }))).toBe(
      `write "500" to ${dir}/blkio.weight: no such file or directory (the file does not exist: this kernel or cgroup lacks the controller or feature)`,
    );
    expect(existsSync(path.join(dir, "blkio.weight"))).toBe(false);
    expect(files()).toEqual([]);
  });

  test("a controller that is not mounted: one error, nothing written", () => {
    const { mgr, files } = fakeV1(["memory", "pids", "devices"]);
    const msg = error(() => mgr.apply({ pids: { limit: 5 }, network: { classID: 1 } }, { update: true }));
    expect(msg).toContain("net_cls controller is not mounted");
    expect(files()).toEqual([]);
  });

  test("checkBeforeUpdate refuses a limit below the usage", () => {
    const { mgr, file } = fakeV1(["memory"]);
    const dir = Object.values(mgr.paths)[0]!;
    writeFileSync(path.join(dir, "memory.usage_in_bytes"), "1000000\n");
    expect(error(() => mgr.apply({ memory: { limit: 1000, checkBeforeUpdate: true } }, { update: true }))).toContain("below the current usage");
    expect(file("memory", "memory.limit_in_bytes")).toBeUndefined();
  });

  test("freezer: isFrozen reads freezer.state", () => {
    const { mgr } = fakeV1(["freezer"]);
    const dir = Object.values(mgr.paths)[0]!;
    writeFileSync(path.join(dir, "freezer.state"), "FROZEN\n");
    expect(mgr.isFrozen()).toBe(true);
    mgr.thaw();
    expect(mgr.isFrozen()).toBe(false);
  });
});

describe("v2Writes", () => {
  test("every field maps to its v2 file", () => {
    const w = v2Writes({
      memory: { limit: 8388608, reservation: 4194304, swap: 16777216 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: "0", mems: "0", idle: 0 },
      pids: { limit: -1 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 10 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 100 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 7 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 9 } },
      unified: { "memory.high": "7000000", "cgroup.max.depth": "3" },
    }, noDevices);
    expect(w.map((x) => `${x.file}=${x.value}`)).toEqual([
      "memory.max=8388608",
      "memory.swap.max=8388608",
      "memory.low=4194304",
      "cpu.weight=39",
      "cpu.max=50000 100000",
      "cpu.max.burst=1000",
      "cpu.idle=0",
      "cpuset.cpus=0",
      "cpuset.mems=0",
      "pids.max=max",
      "io.weight=4950",
      "io.weight=8:0 1",
      "io.max=8:0 rbps=100",
      "io.max=8:16 wiops=7",
      "hugetlb.2MB.max=4194304",
      "rdma.max=mlx5_1 hca_handle=3 hca_object=9",
      "memory.high=7000000",
      "cgroup.max.depth=3",
    ]);
  });

  test("conversions as runc's", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(blkioToIoWeight(10)).toBe(1);
    expect(blkioToIoWeight(1000)).toBe(10000);
    expect(swapV2(100, -1)).toBe(-1);
    expect(swapV2(100, 0)).toBeUndefined();
    expect(swapV2(100, 300)).toBe(200);
    expect(v2Writes({ cpu: { period: 50000 } }, noDevices)[0]!.value).toBe("max 50000");
    expect(v2Writes({ memory: { limit: -1 } }, noDevices)[0]!.value).toBe("max");
  });

  test("what v2 lacks, and bad values, are refused", () => {
    // Device rules are no file write on v2 (an eBPF program: cgroup-device-filter.test.ts).
    expect(v2Writes({ devices: [{ allow: false, access: "rwm" }] }, { devices: true })).toEqual([]);
    expect(error(() => v2Writes({ memory: { swappiness: 1 } }, noDevices))).toContain("swappiness");
    expect(error(() => v2Writes({ memory: { disableOOMKiller: true } }, noDevices))).toContain("disableOOMKiller");
    expect(error(() => v2Writes({ memory: { swap: 100 } }, noDevices))).toContain("needs a memory limit");
    expect(error(() => v2Writes({ cpu: { realtimeRuntime: 5 } }, noDevices))).toContain("realtime");
    expect(error(() => v2Writes({ network: { classID: 1 } }, noDevices))).toContain("net_cls");
    expect(error(() => v2Writes({ blockIO: { leafWeight: 100 } }, noDevices))).toContain("leaf");
    expect(error(() => v2Writes({ unified: { "../x": "1" } }, noDevices))).toContain("unified");
    expect(error(() => v2Writes({ unified: { "cgroup.procs": "1" } }, noDevices))).toContain("managed by the runtime");
    expect(v2Writes({ devices: [] }, { devices: true })).toEqual([]);
  });
});

describe("V2Manager on a fake cgroupfs", () => {
  test("update of the cpu period alone keeps the quota in cpu.max", () => {
    const { mgr, dir, file } = fakeV2();
    writeFileSync(path.join(dir, "cpu.max"), "50000 100000\n");
    mgr.apply({ cpu: { period: 200000 } }, { update: true });
    expect(file("cpu.max")).toBe("50000 200000");
    writeFileSync(path.join(dir, "cpu.max"), "max 100000\n");
    mgr.apply({ cpu: { period: 300000 } }, { update: true });
    expect(file("cpu.max")).toBe("max 300000");
  });

  test("update of the cpu period alone takes the quota from the recorded resources when there are some", () => {
    const { mgr, dir, file } = fakeV2();
    writeFileSync(path.join(dir, "cpu.max"), "max 100000\n"); // what the record says wins
    mgr.apply({ cpu: { period: 200000 } }, { update: true, current: { cpu: { quota: 30000, period: 100000 } } });
    expect(file("cpu.max")).toBe("30000 200000");
    mgr.apply({ cpu: { period: 250000 } }, { update: true, current: { memory: { limit: 1 } } }); // none recorded: the file's
    expect(file("cpu.max")).toBe("30000 250000");
  });

  test("apply writes to the one directory", () => {
    const { mgr, file } = fakeV2();
    mgr.apply({ memory: { limit: 8388608 }, pids: { limit: 4 }, cpu: { quota: 10000, period: 100000 } });
    expect(file("memory.max")).toBe("8388608");
    expect(file("pids.max")).toBe("4");
    expect(file("cpu.max")).toBe("10000 100000");
  });

  test("a controller that is not enabled: one error, nothing written, no device program", () => {
    const { mgr, file, programs } = fakeV2("pids");
    expect(error(() => mgr.apply({ pids: { limit: 4 }, memory: { limit: 1 } }))).toContain("memory controller is not enabled");
    expect(file("pids.max")).toBeUndefined();
    expect(programs).toEqual([]);
  });

  test("device rules: a program on create (defaults alone too), on update only when rules are given", () => {
    const { mgr, programs } = fakeV2();
    mgr.apply(undefined);
    expect(programs).toHaveLength(1);
    expect(programs[0]).toEqual(deviceProgram(emulateDeviceRules(deviceRules())));
    mgr.apply({ pids: { limit: 4 } }, { update: true });
    expect(programs).toHaveLength(1);
    mgr.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "r" }] }, { update: true });
    expect(programs).toHaveLength(2);
    expect(programs[1]).not.toEqual(programs[0]);
  });

  test("apply returns the warnings of what it ignores: kernel memory, unknown device access letters", () => {
    const { mgr, file, programs } = fakeV2();
    const warnings = mgr.apply({ memory: { limit: 8388608, kernel: 1 }, devices: [{ allow: true, type: "c", major: 1, minor: 11, access: "rwx" }] });
    expect(warnings).toEqual([
      "Kernel memory settings are ignored and will be removed: linux.resources.memory.kernel",
      'linux.resources.devices[0].access "rwx": unknown access "x" ignored (expected r, w, m)',
    ]);
    expect(file("memory.max")).toBe("8388608");
    expect(programs).toEqual([deviceProgram(emulateDeviceRules(deviceRules([{ allow: true, type: "c", major: 1, minor: 11, access: "rw" }])))]);
  });

  test("a bad device rule: one error before any write or program", () => {
    const { mgr, file, programs } = fakeV2();
    expect(error(() => mgr.apply({ pids: { limit: 4 }, devices: [{ allow: true, type: "x" as "c", access: "r" }] }))).toContain("devices[0]: unknown device type");
    expect(file("pids.max")).toBeUndefined();
    expect(programs).toEqual([]);
  });

  test("freeze state, OOM kills, stats", () => {
    const { mgr, dir } = fakeV2();
    writeFileSync(path.join(dir, "cgroup.freeze"), "1\n");
    expect(mgr.isFrozen()).toBe(true);
    writeFileSync(path.join(dir, "memory.events"), "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
    expect(mgr.oomKills()).toBe(2);
    writeFileSync(path.join(dir, "memory.current"), "4096\n");
    writeFileSync(path.join(dir, "memory.max"), "max\n");
    writeFileSync(path.join(dir, "pids.current"), "3\n");
    writeFileSync(path.join(dir, "pids.max"), "10\n");
    writeFileSync(path.join(dir, "cpu.stat"), "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
    const s = mgr.stats();
    expect(s.memory.usage).toEqual({ limit: 2n ** 64n - 1n, usage: 4096n, failcnt: 4n });
    expect(s.pids).toEqual({ current: 3n, limit: 10n });
    expect(s.cpu.usage).toEqual({ total: 5000n, kernel: 2000n, user: 3000n });
  });
});
