/**
 * The systemd cgroup driver (--systemd-cgroup) against a real systemd,
 * side by side with runc's: the tests boot one of their own as PID 1 of
 * private namespaces (test/integration/systemd-boot.ts) and run bunc and
 * runc in them. Every test ends with no scope of its containers in systemd
 * and no cgroup directory of theirs in any hierarchy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { Bus, DBusError } from "../../src/cgroups/systemd/bus";
import { Systemd } from "../../src/cgroups/systemd/systemd1";
import { BUNC, integrationSkipReason, RUNC, type Result, Sandbox } from "../harness";
import { BootedSystemd, type CgroupMode, systemdSkipReason } from "./systemd-boot";

const skip = integrationSkipReason() ?? systemdSkipReason("hybrid") ?? (RUNC ? undefined : "runc is not installed (the tests compare with it)");
if (skip) console.warn(`skipping systemd cgroup driver tests on v1 hierarchies: ${skip}`);
const skipUnified = integrationSkipReason() ?? systemdSkipReason("unified") ?? (RUNC ? undefined : "runc is not installed (the tests compare with it)");
if (skipUnified) console.warn(`skipping systemd cgroup driver tests on a cgroup2 view: ${skipUnified}`);
/** The controllers the test's own cgroup2 directory offers (this host's: hugetlb only; a v2 host's: memory, pids, …). */
function unifiedControllers(): string[] {
  const mount = existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
  const own = /^0::(.*)$/m.exec(readFileSync("/proc/self/cgroup", "utf8"))?.[1] ?? "/";
  try {
    return readFileSync(`${mount}${own}/cgroup.controllers`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

type Config = Record<string, any>;
const RUNTIMES = ["bunc", "runc"] as const;
type Runtime = (typeof RUNTIMES)[number];
const MiB = 1024 * 1024;

/** A booted systemd for one describe block, and the helpers its tests use. */
function setup(mode: CgroupMode) {
  const sb = new Sandbox();
  let sd: BootedSystemd | undefined;
  const made: { runtime: Runtime; id: string }[] = [];

  // The booted systemd has /tmp, /var/tmp and /run of its own: only sb.dir is bound back in.
  // A checkout under /tmp (CI's clone) would hide dist/bunc, so bunc runs from a copy there.
  let bunc = BUNC;
  beforeAll(() => {
    sd = new BootedSystemd(sb.dir, mode);
    bunc = path.join(sb.dir, "bunc");
    copyFileSync(BUNC, bunc);
    chmodSync(bunc, 0o755);
  });
  afterAll(async () => {
    if (sd) {
      for (const c of made) run(c.runtime, ["delete", "-f", c.id]);
      await sd.stop();
    }
    sb.cleanup();
  });

  function run(runtime: Runtime, args: string[], opts: { timeoutMs?: number } = {}): Result {
    const argv = runtime === "bunc" ? [bunc, "--systemd-cgroup", "--root", sb.root] : [RUNC!, "--systemd-cgroup", "--root", `${sb.dir}/runc-state`];
    return sd!.inside([...argv, ...args], opts);
  }
  function id(runtime: Runtime): string {
    const i = sb.id(`sd${runtime}`);
    made.push({ runtime, id: i });
    return i;
  }
  function bundle(args: string[], edit?: (c: Config) => void): string {
    return sb.bundle(args, (c) => {
      c.root.readonly = false;
      edit?.(c);
    });
  }
  /** systemctl show's NAME=VALUE lines for these properties. */
  function show(unit: string, props: string[]): Record<string, string> {
    const r = sd!.inside(["systemctl", "show", unit, "-p", props.join(",")]);
    expect(r.code).toBe(0);
    return Object.fromEntries(r.stdout.trim().split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  }
  const cat = (file: string) => sd!.inside(["cat", file]).stdout.trim();
  const pidOf = (runtime: Runtime, i: string) => JSON.parse(run(runtime, ["state", i]).stdout).pid as number;
  /** The scope units systemd has loaded, besides its own init.scope. */
  const scopes = () => sd!.inside(["systemctl", "list-units", "--all", "--type=scope", "--plain", "--no-legend"]).stdout.split("\n").map((l) => l.trim().split(/\s+/)[0]!).filter((u) => u && u !== "init.scope");
  /** Nothing of the container left: no unit, no cgroup directory in any hierarchy. */
  function expectGone(unit: string, i: string): void {
    expect(show(unit, ["LoadState"]).LoadState).toBe("not-found");
    expect(sd!.cgroupTree().filter((d) => d.includes(i))).toEqual([]);
  }
  function waitStatus(runtime: Runtime, i: string, status: string): void {
    for (const end = Date.now() + 20_000; Date.now() < end; Bun.sleepSync(20)) if (JSON.parse(run(runtime, ["state", i]).stdout).status === status) return;
    throw new Error(`${runtime} ${i} never became ${status}`);
  }

  return {
    run, id, bundle, show, cat, pidOf, scopes, expectGone, waitStatus,
    get sd(): BootedSystemd | undefined {
      return sd;
    },
    /** Hand the booted systemd over to be stopped by the caller (the last test). */
    release(): BootedSystemd {
      const booted = sd!;
      sd = undefined;
      return booted;
    },
  };
}

describe.skipIf(!!skip)("systemd cgroup driver, v1 hierarchies (hybrid)", () => {
  const ctx = setup("hybrid");
  const { run, id, bundle, show, cat, pidOf, scopes, expectGone, waitStatus } = ctx;

  test("the D-Bus client against the real bus: Hello, calls, error replies, systemd's version and units", () => {
    const bus = Bus.connect(ctx.sd!.busAddress);
    try {
      expect(bus.name).toMatch(/^:1\.\d+$/);
      const [names] = bus.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "ListNames" }) as [string[]];
      expect(names).toContain("org.freedesktop.systemd1");
      expect(names).toContain(bus.name);
      let error: unknown;
      try {
        bus.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NoSuchMethod" });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DBusError);
      expect((error as DBusError).name).toBe("org.freedesktop.DBus.Error.UnknownMethod");
    } finally {
      bus.close();
    }
    const systemd = Systemd.connect(ctx.sd!.busAddress);
    try {
      const version = Number(/systemd (\d+)/.exec(ctx.sd!.inside(["systemctl", "--version"]).stdout)![1]);
      expect(systemd.version()).toBe(version);
      expect(systemd.getUnit("init.scope")).toBe("/org/freedesktop/systemd1/unit/init_2escope");
      expect(systemd.getUnit("bunc-no-such.scope")).toBeUndefined();
      expect(systemd.stopUnit("bunc-no-such.scope")).toBe("done");
    } finally {
      systemd.close();
    }
  });

  test("create/start/state/ps/kill/delete: the scope prefix-name.scope in the nested slice, with the container's process, as runc; delete leaves no unit and no cgroup", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const unit = `${runtime}-${i}.scope`;
      const b = bundle(["sleep", "60"], (c) => {
        c.linux.cgroupsPath = `bunctest-a.slice:${runtime}:${i}`;
        // Unit properties by annotation (runc's org.systemd.property.*; …Sec given in seconds).
        c.annotations = { "org.systemd.property.CollectMode": "'inactive-or-failed'", "org.systemd.property.TimeoutStopSec": "uint64 7" };
      });
      const created = run(runtime, ["create", "-b", b, i]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const pid = pidOf(runtime, i);
      const props = show(unit, ["Slice", "Delegate", "ActiveState", "ControlGroup", "Description", "DefaultDependencies", "MemoryAccounting", "CPUAccounting", "TasksAccounting", "BlockIOAccounting", "CollectMode", "TimeoutStopUSec"]);
      const generic = (s: string) => s.replaceAll(i, "ID").replaceAll(`${runtime}-`, "RUNTIME-");
      // runc 1.1.5's container ends up in the nested slice's devices cgroup, not the scope's (systemd moved it
      // there, and runc's joinCgroups ran before); its ps reads that empty scope directory and prints null.
      // bunc's stays in the scope's: compared apart from runc.
      const lines = cat(`/proc/${pid}/cgroup`).split("\n");
      const cgroups = lines.filter((l) => !l.includes(":devices:")).map(generic).sort();
      const devicesInScope = lines.find((l) => l.includes(":devices:"))!.endsWith(`/${unit}`);
      expect(run(runtime, ["start", i]).code).toBe(0);
      waitStatus(runtime, i, "running");
      const ps = JSON.parse(run(runtime, ["ps", "-f", "json", i]).stdout);
      expect(run(runtime, ["kill", i, "KILL"]).code).toBe(0);
      waitStatus(runtime, i, "stopped");
      const deleted = run(runtime, ["delete", i]);
      expect(deleted.stderr).toBe("");
      expect(deleted.code).toBe(0);
      expectGone(unit, i);
      seen[runtime] = { props: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, generic(v)])), cgroups };
      if (runtime === "bunc") {
        expect(ps).toEqual([pid]);
        expect(devicesInScope).toBe(true);
      } else console.log(`runc: ps -f json ${JSON.stringify(ps)}, devices cgroup the scope's: ${devicesInScope}`);
    }
    console.log(`bunc: ${JSON.stringify(seen.bunc)}`);
    expect(seen.bunc).toMatchObject({ props: { Slice: "bunctest-a.slice", Delegate: "yes", ActiveState: "active", ControlGroup: "/bunctest.slice/bunctest-a.slice/RUNTIME-ID.scope", CollectMode: "inactive-or-failed", TimeoutStopUSec: "7s" } });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test("resources at create and by update: the properties systemd shows and the cgroup files, as runc's", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const unit = `${runtime}-${i}.scope`;
      const b = bundle(["sleep", "60"], (c) => {
        c.linux.cgroupsPath = `bunctest.slice:${runtime}:${i}`;
        c.linux.resources = { ...c.linux.resources, memory: { limit: 64 * MiB }, pids: { limit: 50 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
      });
      expect(run(runtime, ["run", "-d", "-b", b, i]).code).toBe(0);
      const dir = `/bunctest.slice/${unit}`;
      const state = () => ({
        // DevicePolicy: the device rules are systemd's too (strict, with DeviceAllow=), as runc gives them.
        props: show(unit, ["MemoryLimit", "TasksMax", "CPUShares", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "DevicePolicy"]),
        files: {
          memory: cat(`/sys/fs/cgroup/memory${dir}/memory.limit_in_bytes`),
          pids: cat(`/sys/fs/cgroup/pids${dir}/pids.max`),
          shares: cat(`/sys/fs/cgroup/cpu${dir}/cpu.shares`),
          quota: cat(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_quota_us`),
          period: cat(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_period_us`),
        },
      });
      /** The container's devices cgroup and whether it confines (no "a *:* rwm", /dev/null allowed). */
      const devices = () => {
        const dev = cat(`/proc/${pidOf(runtime, i)}/cgroup`).split("\n").find((l) => l.includes(":devices:"))!.split(":")[2]!;
        const list = cat(`/sys/fs/cgroup/devices${dev}/devices.list`).split("\n");
        return { inScope: dev === dir, confined: !list.includes("a *:* rwm") && list.includes("c 1:3 rwm") };
      };
      const atCreate = { ...state(), devices: devices() };
      const updated = run(runtime, ["update", "--memory", "128M", "--pids-limit", "40", "--cpu-quota", "20000", i]);
      expect(updated.stderr).toBe("");
      expect(updated.code).toBe(0);
      const afterUpdate = { ...state(), devices: devices() };
      // A fork past the pids limit fails inside the scope.
      const forks = run(runtime, ["exec", i, "sh", "-c", "for n in $(seq 60); do sleep 2 & done; wait"]);
      expect(run(runtime, ["delete", "-f", i]).code).toBe(0);
      expectGone(unit, i);
      seen[runtime] = { atCreate, afterUpdate, forkRefused: /can't fork|Resource temporarily unavailable/.test(forks.stderr) };
    }
    console.log(`bunc: ${JSON.stringify(seen.bunc)}`);
    expect(seen.bunc).toMatchObject({
      atCreate: { props: { MemoryLimit: String(64 * MiB), TasksMax: "50", CPUShares: "512", CPUQuotaPerSecUSec: "500ms", DevicePolicy: "strict" }, files: { memory: String(64 * MiB), pids: "50", shares: "512", quota: "50000" } },
      afterUpdate: { props: { MemoryLimit: String(128 * MiB), TasksMax: "40", CPUQuotaPerSecUSec: "200ms" }, files: { memory: String(128 * MiB), pids: "40", quota: "20000" } },
      forkRefused: true,
    });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test("pause and resume freeze the scope's freezer cgroup; events --stats reads the scope's cgroups, as runc", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const unit = `${runtime}-${i}.scope`;
      const b = bundle(["sleep", "60"], (c) => (c.linux.cgroupsPath = `bunctest.slice:${runtime}:${i}`));
      expect(run(runtime, ["run", "-d", "-b", b, i]).code).toBe(0);
      expect(run(runtime, ["pause", i]).code).toBe(0);
      const paused = { status: JSON.parse(run(runtime, ["state", i]).stdout).status, freezer: cat(`/sys/fs/cgroup/freezer/bunctest.slice/${unit}/freezer.state`) };
      expect(run(runtime, ["resume", i]).code).toBe(0);
      const resumed = { status: JSON.parse(run(runtime, ["state", i]).stdout).status, freezer: cat(`/sys/fs/cgroup/freezer/bunctest.slice/${unit}/freezer.state`) };
      const stats = JSON.parse(run(runtime, ["events", "--stats", i]).stdout);
      expect(run(runtime, ["delete", "-f", i]).code).toBe(0);
      expectGone(unit, i);
      seen[runtime] = { paused, resumed, pids: stats.data.pids.current, memoryUsed: stats.data.memory.usage.usage > 0 };
    }
    expect(seen.bunc).toMatchObject({ paused: { status: "paused", freezer: "FROZEN" }, resumed: { status: "running", freezer: "THAWED" }, pids: 1, memoryUsed: true });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test("no cgroupsPath: runc-ID.scope in system.slice; a container that exits leaves nothing after run, as runc", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const b = bundle(["sh", "-c", "cat /proc/self/cgroup | grep name=systemd; exit 3"]);
      const r = run(runtime, ["run", "-b", b, i]);
      seen[runtime] = { code: r.code, cgroup: r.stdout.trim().replaceAll(i, "ID") };
      expectGone(`runc-${i}.scope`, i);
    }
    expect(seen.bunc).toMatchObject({ code: 3, cgroup: expect.stringMatching(/^\d+:name=systemd:\/system\.slice\/runc-ID\.scope$/) });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test("a setting ignored with a warning (kernel memory) is warned about once, as runc", () => {
    const count: Record<string, number> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const r = run(runtime, ["run", "-b", bundle(["true"], (c) => {
        c.linux.cgroupsPath = `bunctest.slice:${runtime}:${i}`;
        c.linux.resources = { ...c.linux.resources, memory: { limit: 64 * MiB, kernel: 32 * MiB } };
      }), i]);
      expect(r.code).toBe(0);
      count[runtime] = r.stderr.split("Kernel memory settings are ignored").length - 1;
      expectGone(`${runtime}-${i}.scope`, i);
    }
    expect(count.bunc).toBe(1);
    expect(count.bunc).toBe(count.runc!);
  });

  test("a create that fails after systemd made the scope (no such executable) leaves no scope and no cgroup, as runc", () => {
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const r = run(runtime, ["run", "-b", bundle(["/no/such/binary"], (c) => (c.linux.cgroupsPath = `bunctest.slice:${runtime}:${i}`)), i]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("no such file or directory");
      expectGone(`${runtime}-${i}.scope`, i);
    }
  });

  const BAD: [string, string, string][] = [
    ["a plain path", "/bunc/plain", "expected cgroupsPath to be of format"],
    ["a slice with an empty component", "a--b.slice:p:NAME", "invalid slice name: a--b.slice"],
  ];
  for (const [what, cgroupsPath, message] of BAD)
    test(`bad cgroupsPath with --systemd-cgroup, ${what}: runc's error, one line, nothing left behind`, () => {
      for (const runtime of RUNTIMES) {
        const i = id(runtime);
        const r = run(runtime, ["run", "-b", bundle(["true"], (c) => (c.linux.cgroupsPath = cgroupsPath.replace("NAME", i))), i]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(message);
        if (runtime === "bunc") expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(run(runtime, ["state", i]).code).not.toBe(0);
        expect(ctx.sd!.cgroupTree().filter((d) => d.includes(i))).toEqual([]);
      }
    });

  test("every test left no scope of its own; stopping the booted systemd leaves no cgroup and the host's /tmp and /var/tmp untouched", async () => {
    expect(scopes()).toEqual([]);
    const booted = ctx.release();
    await booted.stop();
    expect(booted.cgroupTree()).toEqual([]);
  });
});

describe.skipIf(!!skipUnified)("systemd cgroup driver, a cgroup2 (unified) view", () => {
  const ctx = setup("unified");
  const { run, id, bundle, show, cat, pidOf, scopes, expectGone, waitStatus } = ctx;
  const controllers = unifiedControllers();
  const limits = ["memory", "pids"].every((c) => controllers.includes(c));
  if (!limits) console.warn(`skipping the cgroup2 resource test: the test's cgroup2 offers only [${controllers.join(" ")}] (memory and pids needed)`);

  test("create/start/ps/pause/resume/kill/delete: the scope in its nested slice, cgroup.freeze, one cgroup2 path, as runc; nothing left", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const unit = `${runtime}-${i}.scope`;
      const b = bundle(["sleep", "60"], (c) => (c.linux.cgroupsPath = `bunctest-a.slice:${runtime}:${i}`));
      const created = run(runtime, ["create", "-b", b, i]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const pid = pidOf(runtime, i);
      const generic = (v: string) => v.replaceAll(i, "ID").replaceAll(`${runtime}-`, "RUNTIME-");
      const props = Object.fromEntries(Object.entries(show(unit, ["Slice", "Delegate", "ActiveState", "ControlGroup", "IOAccounting", "TasksAccounting", "DefaultDependencies"])).map(([k, v]) => [k, generic(v)]));
      // The cgroup2 line (on a hybrid host the v1 lines are there too, outside this cgroup namespace).
      const cgroup = generic(cat(`/proc/${pid}/cgroup`).split("\n").find((l) => l.startsWith("0::"))!);
      expect(run(runtime, ["start", i]).code).toBe(0);
      waitStatus(runtime, i, "running");
      const ps = JSON.parse(run(runtime, ["ps", "-f", "json", i]).stdout);
      expect(run(runtime, ["pause", i]).code).toBe(0);
      const paused = { status: JSON.parse(run(runtime, ["state", i]).stdout).status, freeze: cat(`/sys/fs/cgroup/bunctest.slice/bunctest-a.slice/${unit}/cgroup.freeze`) };
      expect(run(runtime, ["resume", i]).code).toBe(0);
      const resumed = JSON.parse(run(runtime, ["state", i]).stdout).status;
      expect(run(runtime, ["kill", i, "KILL"]).code).toBe(0);
      waitStatus(runtime, i, "stopped");
      const deleted = run(runtime, ["delete", i]);
      expect(deleted.stderr).toBe("");
      expect(deleted.code).toBe(0);
      expectGone(unit, i);
      seen[runtime] = { props, cgroup, ps: ps.length === 1 && ps[0] === pid, paused, resumed };
    }
    console.log(`bunc: ${JSON.stringify(seen.bunc)}`);
    expect(seen.bunc).toEqual({
      props: { Slice: "bunctest-a.slice", Delegate: "yes", ActiveState: "active", ControlGroup: "/bunctest.slice/bunctest-a.slice/RUNTIME-ID.scope", IOAccounting: "yes", TasksAccounting: "yes", DefaultDependencies: "no" },
      cgroup: "0::/bunctest.slice/bunctest-a.slice/RUNTIME-ID.scope", ps: true, paused: { status: "paused", freeze: "1" }, resumed: "running",
    });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test.skipIf(!limits)("resources at create and by update on cgroup2: MemoryMax, TasksMax and the files, as runc's", () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      const i = id(runtime);
      const unit = `${runtime}-${i}.scope`;
      const b = bundle(["sleep", "60"], (c) => {
        c.linux.cgroupsPath = `bunctest.slice:${runtime}:${i}`;
        c.linux.resources = { ...c.linux.resources, memory: { limit: 64 * MiB }, pids: { limit: 50 } };
      });
      expect(run(runtime, ["run", "-d", "-b", b, i]).code).toBe(0);
      const state = () => ({ props: show(unit, ["MemoryMax", "TasksMax"]), memory: cat(`/sys/fs/cgroup/bunctest.slice/${unit}/memory.max`), pids: cat(`/sys/fs/cgroup/bunctest.slice/${unit}/pids.max`) });
      const atCreate = state();
      expect(run(runtime, ["update", "--memory", "128M", "--pids-limit", "40", i]).code).toBe(0);
      const afterUpdate = state();
      expect(run(runtime, ["delete", "-f", i]).code).toBe(0);
      expectGone(unit, i);
      seen[runtime] = { atCreate, afterUpdate };
    }
    expect(seen.bunc).toEqual({
      atCreate: { props: { MemoryMax: String(64 * MiB), TasksMax: "50" }, memory: String(64 * MiB), pids: "50" },
      afterUpdate: { props: { MemoryMax: String(128 * MiB), TasksMax: "40" }, memory: String(128 * MiB), pids: "40" },
    });
    expect(seen.bunc).toEqual(seen.runc);
  });

  test("no scope left; stopping the booted systemd leaves no cgroup and the host's /tmp and /var/tmp untouched", async () => {
    expect(scopes()).toEqual([]);
    const booted = ctx.release();
    await booted.stop();
    expect(booted.cgroupTree()).toEqual([]);
  });
});
