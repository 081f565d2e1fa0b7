/**
 * compile(): config.json → setup program, with every host input faked. The
 * kernel constants are written out here (from linux/sched.h and
 * linux/mount.h) rather than imported, so a wrong constant in src/ fails.
 */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { candidates, compile, idmapMountOf, type CompileInput, type SetupPlan } from "../../src/plan/compile";
import { compileExec } from "../../src/plan/exec";
import { Chdir, Create, Msg, Op, type Num, type Operation } from "../../src/plan/program";
import { parseConfig, type Spec } from "../../src/spec/config";
import { defaultSpec } from "../../src/spec/default";

// linux/sched.h
const CLONE_NEWTIME = 0x80;
const CLONE_NEWNS = 0x20000;
const CLONE_NEWCGROUP = 0x2000000;
const CLONE_NEWUTS = 0x4000000;
const CLONE_NEWIPC = 0x8000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;

// linux/mount.h
const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_REMOUNT = 0x20;
const MS_REC = 0x4000;
const MS_PRIVATE = 0x40000;
const MS_SLAVE = 0x80000;
const MS_SHARED = 0x100000;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
const MOUNT_ATTR_NOATIME = 0x10;
const MOUNT_ATTR__ATIME = 0x70;

const DEFAULT_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

const OP_NAME: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([name, code]) => [code, name]));

/** `runc spec`'s config (as bunc writes it) without a terminal, changed by `edit`. */
function config(edit?: (c: any) => void): Spec {
  const c: any = structuredClone(defaultSpec());
  c.process.terminal = false;
  edit?.(c);
  return parseConfig(c);
}

/** A CompileInput with fake host facts: anything ending in ".conf" is a file, the rest directories. */
function inputFor(spec: Spec, over: Partial<CompileInput> = {}): CompileInput {
  return {
    spec,
    rootfs: "/bundle/rootfs",
    bundle: "/bundle",
    joined: new Map(),
    preserveFds: 0,
    noPivot: false,
    cgroupBinds: [
      { source: "/sys/fs/cgroup/memory/x", name: "memory" },
      { source: "/sys/fs/cgroup/cpu,cpuacct/x", name: "cpu,cpuacct" },
    ],
    isDirectory: (p) => !p.endsWith(".conf"),
    home: "/root",
    id: "x",
    noNewKeyring: false,
    ...over,
  };
}

function plan(edit?: (c: any) => void, over: Partial<CompileInput> = {}): SetupPlan {
  return compile(inputFor(config(edit), over));
}

const names = (p: SetupPlan) => p.ops.map((o) => OP_NAME[o.code] ?? `?${o.code}`);
const opsOf = (p: SetupPlan, code: number) => p.ops.filter((o) => o.code === code);
function only(p: SetupPlan, code: number): Operation {
  const found = opsOf(p, code);
  expect(found).toHaveLength(1);
  return found[0]!;
}
/** n[] with every plain number as a bigint, so 5 and 5n compare equal; tables kept. */
const nums = (o: Operation) => (o.n ?? []).map((n: Num) => (typeof n === "number" ? BigInt(n) : n));
const big = (...xs: (number | bigint)[]) => xs.map((x) => BigInt(x));

/**
 * Each phase's ops occur, and every op of a phase comes before every op of the
 * next. Only the names listed in phases are looked at.
 */
function expectPhases(p: SetupPlan, phases: string[][]): void {
  const n = names(p);
  const at = (name: string) => n.flatMap((x, i) => (x === name ? [i] : []));
  for (const phase of phases) for (const name of phase) expect({ name, count: at(name).length }).not.toEqual({ name, count: 0 });
  for (let i = 0; i + 1 < phases.length; i++) {
    const last = Math.max(...phases[i]!.flatMap(at));
    const first = Math.min(...phases[i + 1]!.flatMap(at));
    expect({ before: phases[i], after: phases[i + 1], ordered: last < first }).toEqual({ before: phases[i], after: phases[i + 1], ordered: true });
  }
}

function compileError(edit?: (c: any) => void, over: Partial<CompileInput> = {}): string {
  try {
    plan(edit, over);
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    return (e as Error).message;
  }
  throw new Error("compile accepted the config");
}

describe("compile: fresh namespaces (nothing joined)", () => {
  test("runc spec's namespaces are all created by clone3", () => {
    const p = plan();
    expect(p.cloneFlags & ~CLONE_VM).toBe(BigInt(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS));
    expect(p.procWrites.map((w) => ("file" in w ? w.file : w.tool))).not.toContain("uid_map");
    expect(opsOf(p, Op.UNSHARE)).toHaveLength(0);
    expect(opsOf(p, Op.SETNS)).toHaveLength(0);
    expect(opsOf(p, Op.FORK)).toHaveLength(0);
  });

  test("mount, uts, ipc, net and pid at once; cgroup unshared after the SYNC", () => {
    const p = plan((c) => {
      c.linux.namespaces = ["mount", "uts", "ipc", "network", "pid", "cgroup"].map((type) => ({ type }));
    });
    expect(p.cloneFlags & ~CLONE_VM).toBe(BigInt(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID));
    expect(names(p).slice(0, 2)).toEqual(["SYNC", "UNSHARE"]);
    expect(nums(p.ops[0]!)).toEqual(big(Msg.SETUP));
    expect(nums(p.ops[1]!)).toEqual(big(CLONE_NEWCGROUP));
    expect(opsOf(p, Op.FORK)).toHaveLength(0);
  });

  test("a new user namespace from an unprivileged parent: dumpable only around the SETUP, maps by newuidmap/newgidmap", () => {
    const spec = config((c) => {
      c.linux.namespaces = ["user", "mount", "pid", "uts"].map((type) => ({ type }));
      c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 10 }];
    });
    const p = compile(inputFor(spec, { mapWriter: { euid: 1000, egid: 1000, privileged: false } }));
    expect(names(p).slice(0, 3)).toEqual(["DUMPABLE", "SYNC", "DUMPABLE"]);
    expect([nums(p.ops[0]!), nums(p.ops[2]!)]).toEqual([big(1), big(0)]);
    expect(p.procWrites.slice(0, 2)).toEqual([
      { tool: "newuidmap", args: ["0", "1000", "1", "1", "100000", "10"] },
      { tool: "newgidmap", args: ["0", "1000", "1", "1", "100000", "10"] },
    ]);
    expect(opsOf(plan((c) => {
      c.linux.namespaces = ["user", "mount", "uts"].map((type) => ({ type }));
      c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    }), Op.DUMPABLE)).toHaveLength(0);
  });

  test("a new user namespace: clone3 makes it and the pid namespace; the child becomes root in it, then unshares the rest", () => {
    const p = plan((c) => {
      c.linux.namespaces = ["user", "mount", "uts", "ipc", "network", "pid", "cgroup"].map((type) => ({ type }));
      c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    });
    expect(p.cloneFlags).toBe(BigInt(CLONE_NEWUSER | CLONE_NEWPID));
    expect(p.procWrites.map((w) => ("file" in w ? w.file : w.tool)).slice(0, 2)).toEqual(["uid_map", "gid_map"]);
    expect(p.procWrites[0]).toEqual({ file: "uid_map", content: "0 1000 1\n" });
    expect(names(p).slice(0, 4)).toEqual(["SYNC", "SETRESGID", "SETRESUID", "UNSHARE"]);
    expect(nums(p.ops[1]!)).toEqual(big(0));
    expect(nums(p.ops[2]!)).toEqual(big(0));
    expect(nums(p.ops[3]!)).toEqual(big(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP));
    expect(opsOf(p, Op.FORK)).toHaveLength(0);
  });

  test("time: UNSHARE before the SYNC (the parent writes the offsets to /proc/PID/timens_offsets), then FORK", () => {
    const p = plan((c) => {
      c.linux.namespaces = [{ type: "mount" }, { type: "time" }];
      c.linux.timeOffsets = { monotonic: { secs: 5, nanosecs: 7 }, boottime: { secs: -3 } };
      c.hostname = "";
    });
    // With a time namespace everything is unshared in the child, which then forks.
    expect(p.cloneFlags).toBe(0n);
    expect(names(p).slice(0, 4)).toEqual(["UNSHARE", "SYNC", "UNSHARE", "FORK"]);
    expect(nums(p.ops[0]!)).toEqual(big(CLONE_NEWTIME));
    expect(nums(p.ops[2]!)).toEqual(big(CLONE_NEWNS));
    expect(opsOf(p, Op.WRITE_FILE)).toHaveLength(0);
    // One write, one "<clock> <secs> <nanosecs>" line per clock (time_namespaces(7)); their order does not matter.
    const w = p.procWrites.find((x) => "file" in x && x.file === "timens_offsets") as { file: string; content: string };
    expect(w.content.endsWith("\n")).toBe(true);
    expect(w.content.split("\n").filter(Boolean).sort()).toEqual(["boottime -3 0", "monotonic 5 7"]);
  });

  test("time without offsets: UNSHARE and FORK, nothing written", () => {
    const p = plan((c) => {
      c.linux.namespaces = [{ type: "mount" }, { type: "time" }];
      c.hostname = "";
    });
    expect(names(p).slice(0, 4)).toEqual(["UNSHARE", "SYNC", "UNSHARE", "FORK"]);
    expect(p.procWrites).toHaveLength(0);
  });

  test("time with a new pid namespace: the process that FORKs is not the pid namespace's init", () => {
    // clone3(CLONE_NEWPID) makes the executor pid 1 of the new namespace; the
    // init of a pid namespace cannot clone(CLONE_PARENT) (EINVAL, kernel/fork.c),
    // and its exit would kill the namespace. So when a FORK follows, the pid
    // namespace must be unshared before it, not created by clone3.
    const p = plan((c) => {
      c.linux.namespaces = [{ type: "pid" }, { type: "mount" }, { type: "time" }];
      c.hostname = "";
    });
    expect(opsOf(p, Op.FORK)).toHaveLength(1);
    expect(p.cloneFlags & BigInt(CLONE_NEWPID)).toBe(0n);
    const fork = names(p).indexOf("FORK");
    const unsharedPid = p.ops.slice(0, fork).some((o) => o.code === Op.UNSHARE && (BigInt(o.n![0] as number) & BigInt(CLONE_NEWPID)) !== 0n);
    expect(unsharedPid).toBe(true);
  });

  test("no mount namespace: masks and read-only paths are refused with runc's words", () => {
    expect(compileError((c) => (c.linux.namespaces = [{ type: "pid" }, { type: "uts" }]))).toContain("unable to restrict sys entries without a private MNT namespace");
  });

  test("no mount namespace: the host's propagation is left alone, no --no-pivot move or host mount hidden, only a chroot", () => {
    const p = plan((c) => {
      c.linux.namespaces = [{ type: "pid" }, { type: "uts" }];
      c.linux.maskedPaths = [];
      delete c.linux.readonlyPaths;
      c.linux.rootfsPropagation = "shared";
    }, { noPivot: true, hostProcAndSysfs: ["/proc"], rootfsParentMount: { mountpoint: "/", shared: true } });
    expect(opsOf(p, Op.PROPAGATE)).toHaveLength(0);
    expect(opsOf(p, Op.HIDE_MOUNT)).toHaveLength(0);
    expect(nums(only(p, Op.PIVOT_ROOT))).toEqual(big(2));
    expect(only(p, Op.SET_ROOT).s).toEqual(["/bundle/rootfs"]);
    expect(p.cloneFlags & BigInt(CLONE_NEWNS)).toBe(0n);
  });
});

describe("compile: joined namespaces", () => {
  test("SETNS in JOIN_ORDER (user first), then SYNC, UNSHARE of the rest, FORK for a new pid namespace", () => {
    const p = plan(
      (c) => {
        c.linux.namespaces = [
          { type: "pid" },
          { type: "network", path: "/proc/1/ns/net" },
          { type: "ipc", path: "/proc/1/ns/ipc" },
          { type: "uts" },
          { type: "mount" },
          { type: "user", path: "/proc/1/ns/user" },
        ];
      },
      // Map order deliberately not the join order.
      { joined: new Map([["network", 10], ["ipc", 11], ["user", 12]] as const) },
    );
    expect(p.cloneFlags).toBe(0n);
    expect(p.procWrites.map((w) => ("file" in w ? w.file : w.tool))).not.toContain("uid_map");
    // After joining a user namespace the child becomes its root before it unshares the rest.
    expect(names(p).slice(0, 8)).toEqual(["SETNS", "SETNS", "SETNS", "SYNC", "SETRESGID", "SETRESUID", "UNSHARE", "FORK"]);
    expect(p.ops.slice(0, 3).map((o) => [o.fd, ...nums(o)])).toEqual([
      [12, BigInt(CLONE_NEWUSER)],
      [11, BigInt(CLONE_NEWIPC)],
      [10, BigInt(CLONE_NEWNET)],
    ]);
    expect(nums(p.ops[6]!)).toEqual(big(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNS));
  });

  test("mount is joined last, after uts", () => {
    const p = plan(
      (c) => {
        c.linux.namespaces = [{ type: "mount", path: "/proc/1/ns/mnt" }, { type: "uts", path: "/proc/1/ns/uts" }];
      },
      { joined: new Map([["mount", 4], ["uts", 5]] as const) },
    );
    expect(p.ops.slice(0, 2).map((o) => [OP_NAME[o.code], o.fd])).toEqual([["SETNS", 5], ["SETNS", 4]]);
  });

  test("a joined pid namespace needs a FORK", () => {
    const p = plan(
      (c) => {
        c.linux.namespaces = [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "mount" }];
        c.hostname = "";
      },
      { joined: new Map([["pid", 5]] as const) },
    );
    expect(names(p).slice(0, 4)).toEqual(["SETNS", "SYNC", "UNSHARE", "FORK"]);
    expect(nums(p.ops[0]!)).toEqual(big(CLONE_NEWPID));
    expect(nums(p.ops[2]!)).toEqual(big(CLONE_NEWNS));
  });

  test("no pid namespace at all: no FORK", () => {
    const p = plan(
      (c) => {
        c.linux.namespaces = [{ type: "network", path: "/proc/1/ns/net" }, { type: "mount" }];
        c.hostname = "";
      },
      { joined: new Map([["network", 3]] as const) },
    );
    expect(opsOf(p, Op.FORK)).toHaveLength(0);
  });

  test("a new user namespace is unshared before the SYNC, so the parent can write its id maps", () => {
    const p = plan(
      (c) => {
        c.linux.namespaces = [{ type: "user" }, { type: "mount" }, { type: "network", path: "/proc/1/ns/net" }];
        c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
        c.hostname = "";
      },
      { joined: new Map([["network", 3]] as const) },
    );
    expect(p.procWrites.map((w) => ("file" in w ? w.file : w.tool)).slice(0, 2)).toEqual(["uid_map", "gid_map"]);
    expect(p.cloneFlags).toBe(0n);
    expect(names(p).slice(0, 6)).toEqual(["SETNS", "UNSHARE", "SYNC", "SETRESGID", "SETRESUID", "UNSHARE"]);
    expect(nums(p.ops[1]!)).toEqual(big(CLONE_NEWUSER));
    expect(nums(p.ops[5]!)).toEqual(big(CLONE_NEWNS));
  });
});

describe("compile: order of the major steps", () => {
  const p = plan(undefined, { fifo: { dirFd: 8, name: "exec.fifo" } });

  test("the SYNC comes before any mount", () => {
    expect(names(p).indexOf("SYNC")).toBeGreaterThanOrEqual(0);
    expect(names(p).indexOf("SYNC")).toBeLessThan(names(p).indexOf("PROPAGATE"));
    expect(names(p).indexOf("SYNC")).toBeLessThan(names(p).indexOf("MOUNT"));
  });

  test("runc's init order, from rootfs propagation to exec", () => {
    // The last SYNC (waiting for create to finish, checked below) is left out of the phases.
    const waitsForCreate = (o: Operation) => o.code === Op.SYNC && nums(o)[0] === BigInt(Msg.READY);
    expectPhases({ ...p, ops: p.ops.filter((o) => !waitsForCreate(o)) }, [
      ["SYNC"], ["PROPAGATE"], ["SET_ROOT"], ["MOUNT", "BIND"], ["MKNOD"], ["SYMLINK"], ["MASK"], ["READONLY"], ["MKDIR"],
      ["ROOT_RDONLY"], ["PIVOT_ROOT"], ["SETHOSTNAME"], ["SETRLIMIT"], ["UMASK"], ["CLOSE_FDS"], ["STDIO_OWNER"],
      ["CAPBSET"], ["SETGROUPS"], ["SETRESGID"], ["SETRESUID"], ["VERIFY_CWD"], ["CAPSET"], ["AMBIENT"], ["NO_NEW_PRIVS"],
      ["LOOKUP"], ["FIFO_WAIT"], ["EXEC"],
    ]);
    expect(names(p).at(-1)).toBe("EXEC");
  });

  test("the process waiting for start first waits for create to finish (a SYNC whose message is READY): its creator's death ends it", () => {
    const n = names(p);
    const ready = p.ops[n.lastIndexOf("SYNC")]!;
    expect(n.lastIndexOf("SYNC")).toBe(n.indexOf("FIFO_WAIT") - 1);
    expect(nums(ready)).toEqual(big(Msg.READY));
    expect(n).not.toContain("READY");
  });

  test("KEEPCAPS is set before the id switch and cleared after it", () => {
    const n = names(p);
    const keep = n.flatMap((x, i) => (x === "KEEPCAPS" ? [i] : []));
    expect(keep).toHaveLength(2);
    expect(nums(p.ops[keep[0]!]!)).toEqual(big(1));
    expect(nums(p.ops[keep[1]!]!)).toEqual(big(0));
    expect(keep[0]).toBeGreaterThan(n.indexOf("CAPBSET"));
    expect(keep[0]).toBeLessThan(n.indexOf("SETGROUPS"));
    expect(keep[1]).toBeGreaterThan(n.indexOf("SETRESUID"));
    expect(keep[1]).toBeLessThan(n.indexOf("CAPSET"));
  });

  test("mounts are made in config order (the cgroup mount expanded in place)", () => {
    const dests = p.ops.filter((o) => o.code === Op.MOUNT || o.code === Op.BIND).map((o) => o.s![1]);
    expect(dests.slice(0, 10)).toEqual([
      "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
      "/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup",
    ]);
  });

  test("no FIFO_WAIT without a fifo (run)", () => {
    expect(opsOf(plan(), Op.FIFO_WAIT)).toHaveLength(0);
    expect(names(plan()).at(-1)).toBe("EXEC");
  });

  test("FIFO_WAIT waits on the fifo in the state dir fd", () => {
    const w = only(p, Op.FIFO_WAIT);
    expect(w.fd).toBe(8);
    expect(w.s).toEqual(["exec.fifo"]);
  });

  test("no ROOT_RDONLY unless root.readonly", () => {
    expect(opsOf(p, Op.ROOT_RDONLY)).toHaveLength(1);
    expect(opsOf(plan((c) => (c.root.readonly = false)), Op.ROOT_RDONLY)).toHaveLength(0);
  });

  test("no NO_NEW_PRIVS unless process.noNewPrivileges", () => {
    expect(opsOf(p, Op.NO_NEW_PRIVS)).toHaveLength(1);
    expect(opsOf(plan((c) => (c.process.noNewPrivileges = false)), Op.NO_NEW_PRIVS)).toHaveLength(0);
  });
});

describe("compile: rootfs", () => {
  test('"/" is made rslave by default', () => {
    const first = opsOf(plan(), Op.PROPAGATE)[0]!;
    expect(first.s).toEqual(["/"]);
    expect(nums(first)).toEqual(big(MS_SLAVE | MS_REC));
  });

  test("linux.rootfsPropagation replaces the default", () => {
    expect(nums(opsOf(plan((c) => (c.linux.rootfsPropagation = "private")), Op.PROPAGATE)[0]!)).toEqual(big(MS_PRIVATE));
    expect(nums(opsOf(plan((c) => (c.linux.rootfsPropagation = "rshared")), Op.PROPAGATE)[0]!)).toEqual(big(MS_SHARED | MS_REC));
  });

  test("SET_ROOT binds the rootfs path", () => {
    expect(only(plan(), Op.SET_ROOT).s).toEqual(["/bundle/rootfs"]);
  });

  test("PIVOT_ROOT, or move + chroot with --no-pivot", () => {
    expect(nums(only(plan(), Op.PIVOT_ROOT))).toEqual(big(0));
    expect(nums(only(plan(undefined, { noPivot: true }), Op.PIVOT_ROOT))).toEqual(big(1));
  });

  test("--no-pivot: each host procfs/sysfs given is hidden (HIDE_MOUNT 70) right before the move; none without --no-pivot", () => {
    const over = { hostProcAndSysfs: ["/proc", "/sys"] };
    expect(Op.HIDE_MOUNT).toBe(70);
    expect(opsOf(plan(undefined, over), Op.HIDE_MOUNT)).toHaveLength(0);
    const p = plan(undefined, { ...over, noPivot: true });
    const n = names(p);
    expect(opsOf(p, Op.HIDE_MOUNT).map((o) => o.s)).toEqual([["/proc"], ["/sys"]]);
    expect(n.slice(n.indexOf("PIVOT_ROOT") - 2, n.indexOf("PIVOT_ROOT") + 1)).toEqual(["HIDE_MOUNT", "HIDE_MOUNT", "PIVOT_ROOT"]);
  });

  // pivot_root(2) and MS_MOVE refuse a shared parent: what counts is the parent after "/" got
  // rootfsPropagation (runc's rootfsParentMountPrivate reads mountinfo then).
  const privateParentOps = (value: string, parent: { mountpoint: string; shared: boolean }) =>
    opsOf(plan((c) => (c.linux.rootfsPropagation = value), { rootfsParentMount: parent }), Op.PROPAGATE).filter((o) => o.s![0] === parent.mountpoint && nums(o)[0] === BigInt(MS_PRIVATE));
  test.each([
    ["shared", "/", false, 1],
    ["rshared", "/", false, 1],
    ["rshared", "/data", false, 1],
    ["shared", "/data", false, 0],
    ["shared", "/data", true, 1],
    ["rslave", "/data", true, 0],
    ["slave", "/", true, 0],
    ["private", "/data", true, 1],
    ["rprivate", "/data", true, 0],
  ] as const)("rootfsPropagation %s, parent mount %s (shared on the host: %s): %d PROPAGATE private of it", (value, mountpoint, shared, count) => {
    expect(privateParentOps(value, { mountpoint, shared })).toHaveLength(count);
  });

  test("masks and read-only paths in config order", () => {
    const p = plan();
    expect(opsOf(p, Op.MASK).map((o) => o.s)).toEqual(
      ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"].map((x) => [undefined, x, "size=0"]),
    );
    expect(opsOf(p, Op.READONLY).map((o) => o.s)).toEqual(
      ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"].map((x) => [undefined, x]),
    );
  });

  test("MKDIR creates the cwd in the root", () => {
    expect(only(plan((c) => (c.process.cwd = "/work/dir")), Op.MKDIR).s).toEqual([undefined, "/work/dir"]);
  });
});

describe("compile: mounts", () => {
  const mountOf = (p: SetupPlan, dest: string) => p.ops.find((o) => (o.code === Op.MOUNT || o.code === Op.BIND) && o.s![1] === dest)!;

  test("proc and sysfs get Create.NO_SYMLINKS", () => {
    const p = plan();
    const proc = mountOf(p, "/proc");
    expect(proc.code).toBe(Op.MOUNT);
    expect(proc.s).toEqual(["proc", "/proc", "proc", undefined]);
    expect(nums(proc)).toEqual(big(0, Create.DIR | Create.NO_SYMLINKS));
    const sys = mountOf(p, "/sys");
    expect(sys.s).toEqual(["sysfs", "/sys", "sysfs", undefined]);
    expect(nums(sys)).toEqual(big(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, Create.DIR | Create.NO_SYMLINKS));
    expect(Create.NO_SYMLINKS).toBe(4);
    expect(Create.DIR).toBe(1);
  });

  test("a read-only tmpfs or /dev is mounted writable, then made read-only (this mount only) after pivot_root and the console", () => {
    const p = plan((c) => {
      c.process.terminal = true;
      c.mounts.find((m: any) => m.destination === "/dev").options.push("ro");
      c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["ro"] });
    }, { consoleFd: 9 });
    const flags = (dest: string) => Number(nums(mountOf(p, dest))[0]);
    expect(flags("/dev") & MS_RDONLY).toBe(0);
    expect(flags("/mnt") & MS_RDONLY).toBe(0);
    const n = names(p);
    expect(n.slice(n.indexOf("CONSOLE"), n.indexOf("CONSOLE") + 3)).toEqual(["CONSOLE", "SETATTR", "SETATTR"]);
    expect(n.indexOf("PIVOT_ROOT")).toBeLessThan(n.indexOf("CONSOLE"));
    const later = opsOf(p, Op.SETATTR);
    expect(later.map((o) => o.s)).toEqual([[undefined, "/dev"], [undefined, "/mnt"]]);
    for (const o of later) expect(nums(o)).toEqual(big(MOUNT_ATTR_RDONLY, 0, 1));
    // sysfs keeps ro at once: nothing is made in it.
    expect(flags("/sys") & MS_RDONLY).toBe(MS_RDONLY);
  });

  test("a bind carries the parent's clone of its source (bindTrees) as its fd; others have none", () => {
    const p = plan((c) => c.mounts.push({ destination: "/a", type: "bind", source: "/srv/a", options: ["rbind"] }), { bindTrees: new Map([[7, 42]]) });
    expect(mountOf(p, "/a").fd).toBe(42);
    expect(opsOf(p, Op.BIND).filter((o) => o.fd !== undefined)).toHaveLength(1);
  });

  test("other filesystems: flags, data and a directory target", () => {
    const dev = mountOf(plan(), "/dev");
    expect(dev.s).toEqual(["tmpfs", "/dev", "tmpfs", "mode=755,size=65536k"]);
    expect(nums(dev)).toEqual(big(MS_NOSUID | MS_STRICTATIME, Create.DIR));
  });

  test("propagation on a non-bind mount is a PROPAGATE after it", () => {
    const p = plan((c) => c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["rshared"] }));
    const i = p.ops.findIndex((o) => o.code === Op.MOUNT && o.s![1] === "/mnt");
    expect(OP_NAME[p.ops[i + 1]!.code]).toBe("PROPAGATE");
    expect(p.ops[i + 1]!.s).toEqual([undefined, "/mnt"]);
    expect(nums(p.ops[i + 1]!)).toEqual(big(MS_SHARED | MS_REC));
  });

  test("an rbind directory: recursive, MOUNT_ATTR bits, propagation, source relative to the bundle", () => {
    const asked: string[] = [];
    const p = plan(
      (c) => c.mounts.push({ destination: "/data", type: "bind", source: "data", options: ["rbind", "ro", "nosuid", "rprivate"] }),
      { isDirectory: (x) => (asked.push(x), true) },
    );
    const b = mountOf(p, "/data");
    expect(b.code).toBe(Op.BIND);
    expect(b.s).toEqual(["/bundle/data", "/data"]);
    // how: 1 = recursive bind, 4 = recursive propagation; propagation without MS_REC.
    expect(nums(b)).toEqual(big(1 | 4, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, MS_PRIVATE, Create.DIR));
    expect(asked).toContain("/bundle/data");
  });

  test("a file bind: FILE target, cleared attributes, atime and recursive attributes in the high half", () => {
    const p = plan((c) => c.mounts.push({ destination: "/etc/app.conf", source: "/host/app.conf", options: ["bind", "rw", "noatime", "rro"] }));
    const b = mountOf(p, "/etc/app.conf");
    expect(b.code).toBe(Op.BIND);
    expect(b.s).toEqual(["/host/app.conf", "/etc/app.conf"]);
    expect(nums(b)).toEqual([
      0n,
      BigInt(MOUNT_ATTR_NOATIME) | (BigInt(MOUNT_ATTR_RDONLY) << 32n),
      BigInt(MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME),
      0n,
      BigInt(Create.FILE),
    ]);
    expect(Create.FILE).toBe(2);
  });

  test('type "bind" without a bind option is a bind; rslave sets recursive propagation', () => {
    const b = mountOf(plan((c) => c.mounts.push({ destination: "/opt", type: "bind", source: "/srv/opt", options: ["rslave"] })), "/opt");
    expect(b.code).toBe(Op.BIND);
    expect(nums(b)).toEqual(big(4, 0, 0, MS_SLAVE, Create.DIR));
  });

  test("recursive attributes on a non-bind mount: SETATTR on it right after the mount", () => {
    const p = plan((c) => c.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["rro", "rnosuid", "rnoatime", "mode=755"] }));
    const i = p.ops.findIndex((o) => o.code === Op.MOUNT && o.s![1] === "/t");
    expect(p.ops[i]!.s![3]).toBe("mode=755");
    const set = p.ops[i + 1]!;
    expect(OP_NAME[set.code]).toBe("SETATTR");
    expect(set.s).toEqual([undefined, "/t"]);
    expect(nums(set)).toEqual(big(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME));
  });

  test("recursive attributes on the cgroup mount: SETATTR after its binds", () => {
    const p = plan((c) => c.mounts.find((m: any) => m.type === "cgroup").options.push("rnoexec"));
    const last = p.ops.findLastIndex((o) => o.s?.[1]?.startsWith("/sys/fs/cgroup"));
    expect(OP_NAME[p.ops[last]!.code]).toBe("SETATTR");
    expect(nums(p.ops[last]!)).toEqual(big(MOUNT_ATTR_NOEXEC, 0));
  });

  test("an idmapped bind: BIND_IDMAP (8) with the mount's index in n0's high half, attributes left to the parent", () => {
    const spec = config((c) => c.mounts.push({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro", "idmap"], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }));
    const index = spec.mounts!.length - 1;
    const p = compile(inputFor(spec, { idmapped: new Set([index]) }));
    const b = mountOf(p, "/data");
    expect(b.code).toBe(Op.BIND);
    expect(b.what).toContain("(idmapped)");
    expect(nums(b)).toEqual([BigInt(8 | 1) | (BigInt(index) << 32n), 0n, 0n, 0n, BigInt(Create.DIR)]);
    expect(idmapMountOf(b)).toBe(index);
    expect(idmapMountOf(mountOf(p, "/proc"))).toBeUndefined();
  });

  test("an idmapped mount the parent did not plan is an error, never a plain bind", () => {
    expect(compileError((c) => c.mounts.push({ destination: "/data", type: "bind", source: "/srv", options: ["bind", "idmap"] }))).toContain("was not planned");
  });

  test('the "cgroup" mount: a tmpfs, one BIND per cgroup, then a read-only remount', () => {
    const p = plan();
    const ops = p.ops.filter((o) => o.s?.[1]?.startsWith("/sys/fs/cgroup"));
    expect(ops.map((o) => OP_NAME[o.code])).toEqual(["MOUNT", "BIND", "BIND", "MOUNT"]);
    const flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME;
    expect(ops[0]!.s).toEqual(["tmpfs", "/sys/fs/cgroup", "tmpfs", "mode=755"]);
    expect(nums(ops[0]!)).toEqual(big(flags, Create.DIR)); // writable until the binds are in
    expect(ops[1]!.s).toEqual(["/sys/fs/cgroup/memory/x", "/sys/fs/cgroup/memory"]);
    expect(ops[2]!.s).toEqual(["/sys/fs/cgroup/cpu,cpuacct/x", "/sys/fs/cgroup/cpu,cpuacct"]);
    const attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    expect(nums(ops[1]!)).toEqual(big(0, attrs, 0, 0, Create.DIR));
    expect(ops[3]!.s).toEqual([undefined, "/sys/fs/cgroup", undefined, undefined]);
    expect(nums(ops[3]!)).toEqual(big(flags | MS_RDONLY | MS_REMOUNT, Create.NONE));
  });

  test('a read-write "cgroup" mount has no remount', () => {
    const p = plan((c) => (c.mounts.find((m: any) => m.type === "cgroup").options = ["nosuid"]));
    const ops = p.ops.filter((o) => o.s?.[1]?.startsWith("/sys/fs/cgroup"));
    expect(ops.map((o) => OP_NAME[o.code])).toEqual(["MOUNT", "BIND", "BIND"]);
  });
});

describe("compile: devices", () => {
  test("default devices are MKNODs (char, 0666, root) and the /dev symlinks follow", () => {
    const p = plan();
    const nodes = opsOf(p, Op.MKNOD);
    expect(nodes.map((o) => o.s![1])).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    expect(nums(nodes[0]!)).toEqual(big(0o020666, 0x103, 0, 0));
    expect(nums(nodes[5]!)).toEqual(big(0o020666, 0x500, 0, 0));
    expect(opsOf(p, Op.SYMLINK).map((o) => o.s)).toEqual([
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
      ["pts/ptmx", "/dev/ptmx"],
    ]);
  });

  test("linux.devices come after the defaults, with their type, mode, number and owner", () => {
    const p = plan((c) => (c.linux.devices = [
      { type: "b", path: "/dev/sda", major: 8, minor: 0, fileMode: 0o660, uid: 1, gid: 2 },
      { type: "p", path: "/dev/pipe" },
    ]));
    const nodes = opsOf(p, Op.MKNOD);
    expect(nodes).toHaveLength(8);
    expect(nodes[6]!.s).toEqual([undefined, "/dev/sda"]);
    expect(nums(nodes[6]!)).toEqual(big(0o060660, 0x800, 1, 2));
    expect(nodes[7]!.s).toEqual([undefined, "/dev/pipe"]);
    expect(nums(nodes[7]!)).toEqual(big(0o010666, 0, 0, 0));
  });

  test("with a user namespace, devices are BINDs of the host's nodes (FILE targets)", () => {
    const p = plan((c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      c.linux.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }];
    });
    expect(opsOf(p, Op.MKNOD)).toHaveLength(0);
    const binds = opsOf(p, Op.BIND).filter((o) => o.s![0] === o.s![1]);
    expect(binds.map((o) => o.s![1])).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fuse"]);
    for (const b of binds) expect(nums(b)).toEqual(big(0, 0, 0, 0, Create.FILE));
    expect(opsOf(p, Op.SYMLINK)).toHaveLength(5);
  });

  test("a bind-mounted /dev gets no device nodes or symlinks", () => {
    const p = plan((c) => c.mounts.push({ destination: "/dev", type: "bind", source: "/dev", options: ["rbind"] }));
    expect(opsOf(p, Op.MKNOD)).toHaveLength(0);
    expect(opsOf(p, Op.SYMLINK)).toHaveLength(0);
  });

  test('a bind-mounted "/dev/" (trailing slash) gets no device nodes either (runc cleans the path)', () => {
    const p = plan((c) => c.mounts.push({ destination: "/dev/", type: "bind", source: "/dev", options: ["rbind"] }));
    expect(opsOf(p, Op.MKNOD)).toHaveLength(0);
  });

  test('a /dev mount of type "bind" with no bind option gets no device nodes either (runc: Device == "bind")', () => {
    const p = plan((c) => c.mounts.push({ destination: "/dev", type: "bind", source: "/dev" }));
    expect(opsOf(p, Op.BIND).some((o) => o.s![1] === "/dev")).toBe(true);
    expect(opsOf(p, Op.MKNOD)).toHaveLength(0);
  });
});

describe("compile: process", () => {
  test("hostname needs a uts namespace", () => {
    const msg = compileError((c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== "uts")));
    expect(msg).toContain("hostname");
    expect(msg).toContain("uts namespace");
  });

  test("an empty hostname without a uts namespace is fine", () => {
    const p = plan((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== "uts");
      c.hostname = "";
    });
    expect(opsOf(p, Op.SETHOSTNAME)).toHaveLength(0);
  });

  test("SETHOSTNAME and SETDOMAINNAME", () => {
    const p = plan((c) => (c.domainname = "example.org"));
    expect(only(p, Op.SETHOSTNAME).s).toEqual(["bunc"]);
    expect(only(p, Op.SETDOMAINNAME).s).toEqual(["example.org"]);
  });

  test("rlimits: resource number, soft, hard", () => {
    const p = plan((c) => c.process.rlimits.push({ type: "RLIMIT_NPROC", soft: 100, hard: 200 }));
    expect(opsOf(p, Op.SETRLIMIT).map(nums)).toEqual([big(7, 1024, 1024), big(6, 100, 200)]);
  });

  test("an unknown rlimit is an error", () => {
    expect(compileError((c) => c.process.rlimits.push({ type: "RLIMIT_FOO", soft: 1, hard: 1 }))).toContain('"RLIMIT_FOO"');
  });

  test("user: groups, gid, uid, umask", () => {
    const p = plan((c) => (c.process.user = { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 }));
    const groups = only(p, Op.SETGROUPS);
    expect(groups.n).toEqual([{ u32: [5, 6] }, 2]);
    expect(nums(only(p, Op.SETRESGID))).toEqual(big(100));
    expect(nums(only(p, Op.SETRESUID))).toEqual(big(1000));
    expect(nums(only(p, Op.UMASK))).toEqual(big(0o077));
    expect(nums(only(plan(), Op.UMASK))).toEqual(big(0o022));
    expect(only(plan(), Op.SETGROUPS).n).toEqual([{ u32: [] }, 0]);
  });

  test("capability sets as bit masks (CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_AUDIT_WRITE=29)", () => {
    const p = plan();
    const mask = (1n << 5n) | (1n << 10n) | (1n << 29n);
    expect(nums(only(p, Op.CAPBSET))).toEqual([mask]);
    expect(nums(only(p, Op.CAPSET))).toEqual([mask, mask, 0n]);
  });

  test("ambient is limited to permitted ∩ inheritable", () => {
    const p = plan((c) => (c.process.capabilities = {
      permitted: ["CAP_KILL", "CAP_CHOWN"],
      inheritable: ["CAP_CHOWN", "CAP_NET_RAW"],
      ambient: ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
    }));
    expect(nums(only(p, Op.AMBIENT))).toEqual([1n << 0n]);
    // runc spec's default has no inheritable set: nothing can be ambient.
    expect(nums(only(plan(), Op.AMBIENT))).toEqual([0n]);
  });

  test("an unknown capability is an error naming it and its set", () => {
    const msg = compileError((c) => (c.process.capabilities.bounding = ["CAP_KILL", "CAP_FOO"]));
    expect(msg).toBe('unknown capability "CAP_FOO" in process.capabilities.bounding');
  });

  test("an env entry without '=' is an error", () => {
    expect(compileError((c) => c.process.env.push("FOO"))).toContain('invalid environment variable "FOO"');
    expect(compileError((c) => c.process.env.push("=x"))).toContain('invalid environment variable "=x"');
  });

  test("HOME is appended from `home` when env has none", () => {
    const exec = only(plan(undefined, { home: "/home/u" }), Op.EXEC);
    expect(exec.n).toEqual([
      { strings: ["sh"] },
      { strings: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/home/u"] },
    ]);
  });

  test("an env HOME is kept and not duplicated", () => {
    const exec = only(plan((c) => c.process.env.push("HOME=/srv"), { home: "/home/u" }), Op.EXEC);
    const env = (exec.n![1] as { strings: string[] }).strings;
    expect(env.filter((e) => e.startsWith("HOME="))).toEqual(["HOME=/srv"]);
  });

  test("LOOKUP gets the PATH candidates of args[0]", () => {
    const lookup = only(plan(), Op.LOOKUP);
    expect(lookup.n).toEqual([{ strings: DEFAULT_PATH.map((d) => `${d}/sh`) }]);
  });

  test("CLOSE_FDS keeps stdio + preserveFds", () => {
    expect(nums(only(plan(), Op.CLOSE_FDS))).toEqual(big(3));
    expect(nums(only(plan(undefined, { preserveFds: 2 }), Op.CLOSE_FDS))).toEqual(big(5));
  });

  test("cwd: entered as root before the user switch, again after it only if root was refused, then verified (runc's finalizeNamespace)", () => {
    const p = plan((c) => (c.process.cwd = "/tmp"));
    const n = names(p);
    const chdirs = opsOf(p, Op.CHDIR);
    expect(chdirs.map((o) => [o.s, nums(o)])).toEqual([[["/tmp"], big(Chdir.EARLY)], [["/tmp"], big(Chdir.LATE)]]);
    const at = n.flatMap((x, i) => (x === "CHDIR" ? [i] : []));
    expect(at[0]).toBeLessThan(n.indexOf("CAPBSET"));
    expect(at[1]).toBeGreaterThan(n.indexOf("SETRESUID"));
    expect(n.indexOf("VERIFY_CWD")).toBe(at[1]! + 1);
    expect(n.indexOf("VERIFY_CWD")).toBeLessThan(n.indexOf("CAPSET"));
  });

  test("stdio is given to the container's uid while still root", () => {
    const p = plan((c) => (c.process.user = { uid: 1000, gid: 100 }));
    expect(nums(only(p, Op.STDIO_OWNER))).toEqual(big(1000));
    expect(names(p).indexOf("STDIO_OWNER")).toBeLessThan(names(p).indexOf("CAPBSET"));
  });

  test("a new session keyring named after the id, unless --no-new-keyring", () => {
    expect(only(plan(), Op.KEYRING).s).toEqual(["_ses.x"]);
    expect(opsOf(plan(undefined, { noNewKeyring: true }), Op.KEYRING)).toHaveLength(0);
  });

  test("oomScoreAdj is written by the parent to /proc/PID/oom_score_adj (no op in the program)", () => {
    const p = plan((c) => (c.process.oomScoreAdj = -500));
    expect(opsOf(p, Op.WRITE_FILE)).toHaveLength(0);
    expect(p.procWrites).toEqual([{ file: "oom_score_adj", content: "-500" }]);
  });

  test("a config without process cannot be compiled", () => {
    expect(compileError((c) => delete c.process)).toContain("process");
  });
});

describe("candidates", () => {
  test("each PATH entry, in order", () => {
    expect(candidates("sh", ["PATH=/a:/b"])).toEqual(["/a/sh", "/b/sh"]);
  });

  test("an args[0] with '/' is its own only candidate", () => {
    expect(candidates("/bin/sh", ["PATH=/a:/b"])).toEqual(["/bin/sh"]);
    expect(candidates("./run", ["PATH=/a"])).toEqual(["./run"]);
    expect(candidates("bin/tool", ["PATH=/a"])).toEqual(["bin/tool"]);
  });

  test("without PATH, the default search path", () => {
    expect(candidates("ls", ["TERM=xterm"])).toEqual(DEFAULT_PATH.map((d) => `${d}/ls`));
  });

  test("the last PATH wins, as runc's os.Setenv in order", () => {
    expect(candidates("sh", ["PATH=/a", "PATH=/b"])).toEqual(["/b/sh"]);
  });

  test("a trailing slash in an entry does not double", () => {
    expect(candidates("sh", ["PATH=/a/:/b"])).toEqual(["/a/sh", "/b/sh"]);
  });
});

describe("compile: user namespace id mappings", () => {
  const withMaps = (uid: unknown, gid: unknown = [{ containerID: 0, hostID: 1000, size: 1 }]) =>
    compileError((c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = uid;
      c.linux.gidMappings = gid;
    });

  test("a zero size is refused", () => {
    expect(withMaps([{ containerID: 0, hostID: 1000, size: 0 }])).toBe("config.json: linux.uidMappings[0].size: expected a positive size, got 0");
  });

  test("overlapping ranges are refused, on the container side or the host side", () => {
    expect(withMaps([{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 5000, size: 10 }])).toBe("config.json: linux.uidMappings[1]: overlaps uidMappings[0]");
    expect(withMaps(undefined, [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 100, hostID: 1009, size: 1 }])).toContain("linux.uidMappings: a new user namespace needs at least one mapping");
    expect(withMaps([{ containerID: 0, hostID: 1000, size: 1 }], [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 100, hostID: 1009, size: 1 }])).toBe("config.json: linux.gidMappings[1]: overlaps gidMappings[0]");
  });

  test("several disjoint ranges are written one line each", () => {
    const p = plan((c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65535 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    });
    expect(p.procWrites[0]).toEqual({ file: "uid_map", content: "0 1000 1\n1 100000 65535\n" });
  });
});

describe("compile: client needs (podman, containerd)", () => {
  test("a new network namespace gets its loopback up, after the namespaces and before the mounts", () => {
    const p = plan(); // runc's default spec has a new network namespace
    only(p, Op.LOOPBACK_UP);
    expectPhases(p, [["SYNC"], ["LOOPBACK_UP"], ["SET_ROOT"]]);
  });

  test("no loopback step without a new network namespace", () => {
    expect(opsOf(plan((c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== "network"))), Op.LOOPBACK_UP)).toHaveLength(0);
    const joinNet = (c: any) => (c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === "network" ? { type: "network", path: "/run/netns/x" } : ns)));
    expect(opsOf(plan(joinNet, { joined: new Map([["network", 7]]) }), Op.LOOPBACK_UP)).toHaveLength(0);
  });

  test("tmpcopyup makes a tmpfs mount copy what it covers; on other types it is refused", () => {
    const p = plan((c) => c.mounts.push({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "tmpcopyup"] }));
    const run = opsOf(p, Op.MOUNT).find((o) => o.s?.[1] === "/run")!;
    expect(run.s?.[3]).toBeUndefined();
    expect(nums(run)[1]).toBe(BigInt(Create.DIR | Create.COPY_UP));
    expect(compileError((c) => c.mounts.push({ destination: "/x", type: "proc", source: "proc", options: ["tmpcopyup"] }))).toMatch(/tmpcopyup applies only to tmpfs/);
  });
});

/** clone(2): CLONE_VM. */
const CLONE_VM = 0x100n;

describe("compile: sharing the parent's memory until execve (CLONE_VM)", () => {
  const shares = (p: SetupPlan) => (p.cloneFlags & CLONE_VM) !== 0n;
  test("run (no exec FIFO) of runc's spec shares it", () => {
    expect(shares(plan())).toBe(true);
  });
  test("create (the process waits on the exec FIFO) does not", () => {
    expect(shares(plan(undefined, { fifo: { dirFd: 8, name: "exec.fifo" } }))).toBe(false);
  });
  test("a new user namespace does not (unshare refuses shared memory)", () => {
    const p = plan((c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    expect(shares(p)).toBe(false);
  });
  test("a joined user namespace does not", () => {
    expect(shares(plan(undefined, { joined: new Map([["user", 9]]) }))).toBe(false);
  });
  test("a time namespace does not (clone3 refuses CLONE_VM across time namespaces)", () => {
    expect(shares(plan((c) => c.linux.namespaces.push({ type: "time" })))).toBe(false);
  });
  test("process.oomScoreAdj does not (the kernel would apply it to the runtime too)", () => {
    expect(shares(plan((c) => (c.process.oomScoreAdj = 100)))).toBe(false);
  });
  test("a memory limit does not (the OOM killer would count bunc's memory as the child's)", () => {
    expect(shares(plan((c) => (c.linux.resources = { memory: { limit: 64 << 20 } })))).toBe(false);
    expect(shares(plan((c) => (c.linux.resources = { memory: { limit: -1 } })))).toBe(true);
  });
  test("an unprivileged runtime does not", () => {
    expect(shares(plan(undefined, { mapWriter: { euid: 1000, egid: 1000, privileged: false } }))).toBe(false);
  });
});

describe("compileExec: sharing bunc's memory until execve", () => {
  const exec = (over: Partial<Parameters<typeof compileExec>[0]> = {}) =>
    (compileExec({ process: { args: ["sh"], cwd: "/" } as any, pidfd: 9, namespaces: ["mount", "pid"], preserveFds: 0, home: "/", privileged: true, memoryLimited: false, ...over }).cloneFlags & CLONE_VM) !== 0n;
  test("an exec into a container without a memory limit shares it", () => expect(exec()).toBe(true));
  test("not into a paused container (the process would wait frozen, holding bunc's memory)", () => expect(exec({ joinCgroupLast: true })).toBe(false));
  test("not with a memory limit, nor when the record does not say", () => {
    expect(exec({ memoryLimited: true })).toBe(false);
    expect(exec({ memoryLimited: undefined })).toBe(false);
  });
  test("not into a user namespace", () => expect(exec({ namespaces: ["user", "mount", "pid"] })).toBe(false));
});

describe("compileExec: the terminal", () => {
  const ops = (over: Partial<Parameters<typeof compileExec>[0]> = {}) =>
    compileExec({ process: { args: ["sh"], cwd: "/", terminal: true } as any, pidfd: 9, namespaces: ["mount", "pid"], preserveFds: 0, consoleFd: 7, home: "/", privileged: true, ...over }).ops;
  test("into a user namespace, the child becomes its root before it opens the pty (owned inside, then given to the user)", () => {
    const o = ops({ namespaces: ["user", "mount", "pid"] });
    const console = o.findIndex((x) => x.code === Op.CONSOLE);
    const root = o.findIndex((x) => x.code === Op.SETRESUID);
    expect(nums(o[root]!)).toEqual(big(0));
    expect(root).toBeGreaterThan(o.findIndex((x) => x.code === Op.SETNS));
    expect(root).toBeLessThan(console);
    expect(ops().filter((x) => x.code === Op.SETRESUID)).toHaveLength(1);
  });
  test("ONLCR is cleared only when bunc relays the terminal", () => {
    expect(ops().find((x) => x.code === Op.CONSOLE)!.n).toEqual([0, 0, 0, 0]);
    expect(ops({ consoleRelayed: true }).find((x) => x.code === Op.CONSOLE)!.n).toEqual([0, 0, 0, 1]);
  });
});
