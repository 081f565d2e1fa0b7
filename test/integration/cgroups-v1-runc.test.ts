/**
 * Where runc's cgroup v1 code is lenient or orders writes with care, on this
 * host's v1 hierarchies, bunc beside runc on the same bundle: the cpu period
 * under a pod's quota (runc's update.bats "update cpu period in a pod cgroup
 * with pod limit set"), a limit whose file the kernel lacks, kernel memory
 * settings and device access letters runc ignores (update.bats "rwa").
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { cgroupHierarchies, integrationSkipReason, type Result, RUNC, Sandbox } from "../harness";

const CPU = "/sys/fs/cgroup/cpu";
const V1 = existsSync(`${CPU}/cpu.cfs_quota_us`) && existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes") && existsSync("/sys/fs/cgroup/devices/devices.allow");
const skip = integrationSkipReason() ?? (V1 ? undefined : "the host has no cgroup v1 cpu, memory and devices hierarchies");
if (skip) console.warn(`skipping cgroup v1 runc-comparison tests: ${skip}`);
const noRunc = RUNC ? undefined : "runc is not installed: the runc side is not compared";
if (noRunc) console.warn(noRunc);

type Config = Record<string, any>;
type Runtime = "bunc" | "runc";
const MiB = 1024 * 1024;

/** Remove NAME and what is under it (no processes left there) in every hierarchy, deepest first. */
function removeCgroups(name: string): void {
  for (const h of cgroupHierarchies()) {
    const walk = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(`${dir}/${e.name}`);
      rmdirSync(dir);
    };
    walk(`/sys/fs/cgroup/${h}/${name}`);
  }
}

describe.skipIf(!!skip)("cgroups v1, as runc", () => {
  const sb = new Sandbox();
  const pods: string[] = [];
  afterAll(() => {
    sb.cleanup();
    for (const pod of pods) removeCgroups(pod);
  });

  const runtimes: Runtime[] = RUNC ? ["bunc", "runc"] : ["bunc"];
  const cmd = (rt: Runtime, args: string[], stdin?: string): Result => (rt === "bunc" ? sb.bunc(args, { stdin }) : sb.runc(args, { stdin }));
  const bundle = (args: string[], edit: (c: Config) => void) =>
    sb.bundle(args, (c) => {
      c.process.terminal = false;
      c.root.readonly = false;
      edit(c);
    });
  /** A pod cgroup /NAME whose cpu quota is 50% (50000 of a 100000 period), made before the container, as update.bats does. */
  function pod(rt: Runtime): string {
    const name = `bunc-pod-${rt}-${process.pid}-${pods.length}`;
    pods.push(name);
    mkdirSync(`${CPU}/${name}`);
    writeFileSync(`${CPU}/${name}/cpu.cfs_quota_us`, "50000");
    return name;
  }
  const cpu = (dir: string) => ["cfs_quota_us", "cfs_period_us"].map((f) => readFileSync(`${CPU}/${dir}/cpu.${f}`, "utf8").trim()).join("/");

  /** A test with a pod: the pod's cgroups (in every hierarchy the runtime made them) go when it ends (the leak checker wants them gone). */
  const withPod = (rt: Runtime, fn: (p: string) => void) => () => {
    const p = pod(rt);
    try {
      fn(p);
    } finally {
      // A failed test may leave its container in the pod: then afterAll removes it after the sandbox's cleanup.
      removeCgroups(p);
      if (!existsSync(`${CPU}/${p}`)) pods.splice(pods.indexOf(p), 1);
    }
  };

  for (const rt of runtimes) {
    test(`${rt}: update to a shorter cpu period under a pod's quota writes the quota first (update.bats, pod limit set)`, withPod(rt, (p) => {
      const id = sb.id(rt);
      const b = bundle(["sleep", "600"], (c) => {
        c.linux.cgroupsPath = `/${p}/ctr`;
        c.linux.resources.cpu = { quota: 500000, period: 1000000 }; // update.bats's setup: 50%
      });
      expect(cmd(rt, ["run", "-d", "-b", b, id]).code).toBe(0);
      expect(cpu(`${p}/ctr`)).toBe("500000/1000000");
      // Above the pod's 50%: refused, by the kernel.
      expect(cmd(rt, ["update", "--cpu-quota", "600000", id]).code).toBe(1);
      // 30% with a shorter period: the period alone (500000 of 10000) would exceed the pod.
      const r = cmd(rt, ["update", "--cpu-period", "10000", "--cpu-quota", "3000", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(cpu(`${p}/ctr`)).toBe("3000/10000");
      expect(cmd(rt, ["delete", "-f", id]).code).toBe(0);
    }));

    test(`${rt}: create in a cgroup made before with a quota, a shorter period under the pod's quota`, withPod(rt, (p) => {
      mkdirSync(`${CPU}/${p}/ctr`);
      writeFileSync(`${CPU}/${p}/ctr/cpu.cfs_quota_us`, "40000");
      const id = sb.id(rt);
      const b = bundle(["true"], (c) => {
        c.linux.cgroupsPath = `/${p}/ctr`;
        c.linux.resources.cpu = { quota: 3000, period: 10000 };
      });
      const r = cmd(rt, ["run", "-b", b, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }));
  }

  test("a limit whose file this kernel lacks: the error names the file and says it does not exist, as runc; nothing left", () => {
    if (existsSync("/sys/fs/cgroup/blkio/blkio.weight") || !existsSync("/sys/fs/cgroup/blkio"))
      return console.warn("skipped: this host's blkio hierarchy has blkio.weight (or there is none), so no limit file is missing");
    const id = sb.id();
    const b = bundle(["true"], (c) => {
      c.linux.cgroupsPath = `/bunc-cg-${id}`;
      c.linux.resources.blockIO = { weight: 500 };
    });
    const r = sb.bunc(["run", "-b", b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bunc: write "500" to /sys/fs/cgroup/blkio/bunc-cg-${id}/blkio.weight: no such file or directory (the file does not exist: this kernel or cgroup lacks the controller or feature)\n`);
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    expect(cgroupHierarchies().some((h) => existsSync(`/sys/fs/cgroup/${h}/bunc-cg-${id}`))).toBe(false);
    if (noRunc) return;
    const theirs = sb.runc(["run", "-b", b, sb.id("runc")]);
    expect(theirs.code).toBe(1);
    expect(theirs.stderr).toContain("no such file or directory");
  });

  const KERNEL_WARNING = "Kernel memory settings are ignored and will be removed";

  test("memory.kernel and kernelTCP: ignored with runc's warning, the memory limit applied; update -r and --kernel-memory likewise", () => {
    const script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes";
    const memory = { limit: 8 * MiB, kernel: 4 * MiB, kernelTCP: MiB };
    const out: Record<string, Result> = {};
    for (const rt of runtimes) out[rt] = cmd(rt, ["run", "-b", bundle(["sh", "-c", script], (c) => (c.linux.resources.memory = memory)), sb.id(rt)]);
    expect(out.bunc!.code).toBe(0);
    expect(out.bunc!.stderr).toBe(`bunc: warning: ${KERNEL_WARNING}: linux.resources.memory.kernel, linux.resources.memory.kernelTCP\n`);
    const [limit, kmem] = out.bunc!.stdout.trim().split("\n");
    expect(limit).toBe(String(8 * MiB));
    expect(Number(kmem)).toBeGreaterThan(4 * MiB); // the kernel's unlimited, untouched
    if (out.runc) {
      expect(out.runc.code).toBe(0);
      expect(out.runc.stderr).toContain(KERNEL_WARNING);
      expect(out.runc.stdout).toBe(out.bunc!.stdout);
    }

    for (const rt of runtimes) {
      const id = sb.id(rt);
      const b = bundle(["sleep", "600"], (c) => (c.linux.cgroupsPath = `/bunc-cg-${id}`));
      expect(cmd(rt, ["run", "-d", "-b", b, id]).code).toBe(0);
      const byJson = cmd(rt, ["update", "-r", "-", id], JSON.stringify({ memory: { limit: 16 * MiB, kernel: 4 * MiB } }));
      const byFlag = cmd(rt, ["update", "--kernel-memory", "4m", "--pids-limit", "20", id]);
      for (const r of [byJson, byFlag]) {
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(KERNEL_WARNING);
      }
      const file = (c: string, f: string) => readFileSync(`/sys/fs/cgroup/${c}/bunc-cg-${id}/${f}`, "utf8").trim();
      expect([file("memory", "memory.limit_in_bytes"), file("pids", "pids.max")]).toEqual([String(16 * MiB), "20"]);
      expect(Number(file("memory", "memory.kmem.limit_in_bytes"))).toBeGreaterThan(4 * MiB);
      expect(cmd(rt, ["delete", "-f", id]).code).toBe(0);
    }
  });

  test('a device rule\'s access with a letter runc ignores ("rwa", update.bats): a warning, the rule applied without it, as runc', () => {
    const script = "echo bunc-test > /dev/kmsg && echo kmsg-writable; echo x > /dev/null && echo null-ok";
    const edit = (c: Config) => {
      c.linux.resources.devices = [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "rwa" }];
      c.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
    };
    const out: Record<string, Result> = {};
    for (const rt of runtimes) out[rt] = cmd(rt, ["run", "-b", bundle(["sh", "-c", script], edit), sb.id(rt)]);
    expect(out.bunc!.code).toBe(0);
    expect(out.bunc!.stdout).toBe("kmsg-writable\nnull-ok\n");
    expect(out.bunc!.stderr).toBe('bunc: warning: linux.resources.devices[1].access "rwa": unknown access "a" ignored (expected r, w, m)\n');
    if (out.runc) expect([out.runc.code, out.runc.stdout]).toEqual([0, out.bunc!.stdout]);
  });
});
