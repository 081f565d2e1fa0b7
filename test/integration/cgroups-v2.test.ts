/**
 * The cgroup v2 path, in a private mount namespace that sees only cgroup2
 * (unshare -m; umount -R /sys/fs/cgroup; mount -t cgroup2). On this hybrid
 * host the cgroup2 hierarchy has no memory/cpu/pids controllers, so limits
 * are checked to be refused clearly; cgroup.procs, cgroup.freeze,
 * cgroup.kill and cgroup.events are real.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";

const UNIFIED = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((d) => existsSync(`${d}/cgroup.freeze`) || existsSync(`${d}/cgroup.controllers`));
const skip = integrationSkipReason() ?? (UNIFIED ? undefined : "the host has no cgroup2 hierarchy") ?? (existsSync("/usr/bin/unshare") ? undefined : "unshare(1) is missing");
if (skip) console.warn(`skipping cgroup v2 integration tests: ${skip}`);

describe.skipIf(!!skip)("cgroups v2 (private cgroup2-only mount namespace)", () => {
  const sb = new Sandbox();
  // Enabling controllers top-down writes the hierarchy root's subtree_control: put it back.
  const rootSubtree = UNIFIED ? readFileSync(`${UNIFIED}/cgroup.subtree_control`, "utf8").trim() : "";
  afterAll(() => {
    for (const c of readFileSync(`${UNIFIED}/cgroup.subtree_control`, "utf8").trim().split(/\s+/).filter(Boolean))
      if (!rootSubtree.split(/\s+/).includes(c)) try { writeFileSync(`${UNIFIED}/cgroup.subtree_control`, `-${c}`); } catch { /* in use */ }
    sh(["unshare", "-m", "sh", "-c", `umount -R /sys/fs/cgroup; mount -t cgroup2 none /sys/fs/cgroup; for id in $(ls ${sb.root} 2>/dev/null); do ${BUNC} --root ${sb.root} delete -f $id; done`]);
    sb.cleanup();
  });

  /** Run shell commands ("$B" is bunc with the sandbox root) in the cgroup2-only view; the exit code and output of each, by index. */
  function inV2(lines: string[]): { rc: number; out: string }[] {
    const script = ["umount -R /sys/fs/cgroup || exit 90", "mount -t cgroup2 none /sys/fs/cgroup || exit 91", `B="${BUNC} --root ${sb.root}"`,
      ...lines.map((l, i) => `echo "== ${i}"; { ${l}; } 2>&1; echo "== rc $?"`)].join("\n");
    const r = sh(["unshare", "-m", "sh", "-c", script], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const out: { rc: number; out: string }[] = [];
    for (const m of r.stdout.matchAll(/== (\d+)\n([\s\S]*?)== rc (\d+)\n/g)) out[Number(m[1])] = { rc: Number(m[3]), out: m[2]! };
    return out;
  }

  test("run, ps, pause (cgroup.freeze), resume, events, kill -a (cgroup.kill), delete", () => {
    const id = sb.id();
    const b = sb.bundle(["sh", "-c", "sleep 60 & i=0; while :; do i=$((i+1)); echo $i > /ticks; sleep 0.05; done"], (c) => {
      c.linux.resources = {}; // device rules need an eBPF program on v2 (refused, tested below)
      c.root.readonly = false;
    });
    const cmds = [
      `$B run -d -b ${b} ${id} </dev/null`,
      `$B state ${id}`,
      `$B ps -f json ${id}`,
      `cat /sys/fs/cgroup/${id}/cgroup.procs`,
      `$B pause ${id}`,
      `$B state ${id}`,
      `cat /sys/fs/cgroup/${id}/cgroup.events`,
      `cat ${b}/rootfs/ticks; sleep 0.4; cat ${b}/rootfs/ticks`,
      `$B resume ${id}`,
      `sleep 0.3; $B state ${id}`,
      `$B events --stats ${id}`,
      `$B update --pids-limit 5 ${id}`,
      `$B kill -a ${id} KILL; sleep 0.3`,
      `$B state ${id}`,
      `$B delete ${id}`,
      `test -e /sys/fs/cgroup/${id}`,
      `grep ' /sys/fs/cgroup ' /proc/self/mountinfo`,
    ];
    const o = inV2(cmds);
    expect(o[0]!.rc).toBe(0);
    expect(JSON.parse(o[1]!.out).status).toBe("running");
    const pids = JSON.parse(o[2]!.out) as number[];
    expect(pids.sort()).toEqual(o[3]!.out.trim().split("\n").map(Number).sort());
    expect(pids).toHaveLength(3);
    expect(o[4]!.rc).toBe(0);
    expect(JSON.parse(o[5]!.out).status).toBe("paused");
    expect(o[6]!.out).toContain("frozen 1");
    const [t1, t2] = o[7]!.out.trim().split("\n");
    expect(t1).toBe(t2!);
    expect(JSON.parse(o[9]!.out).status).toBe("running");
    const stats = JSON.parse(o[10]!.out);
    expect(Object.keys(stats).sort()).toEqual(["data", "id", "type"]);
    expect(Object.keys(stats.data).sort()).toEqual(["blkio", "cpu", "cpuset", "hugetlb", "intel_rdt", "memory", "network_interfaces", "pids"]);
    expect(stats.data.cpu.usage.total).toBeGreaterThan(0);
    expect(o[11]!.rc).toBe(1);
    expect(o[11]!.out).toContain("pids controller is not enabled");
    expect(o[12]!.rc).toBe(0);
    expect(JSON.parse(o[13]!.out).status).toBe("stopped");
    expect(o[14]!.rc).toBe(0);
    expect(o[15]!.rc).toBe(1); // the cgroup is gone
    // The container's cgroup mount must never make the shared cgroup2 superblock read-only.
    expect(o[16]!.out).toMatch(/cgroup2 \S+ rw/);
  }, 40_000);

  test("v2 refusals: device rules (no eBPF program yet), v1-only fields; nothing left behind", () => {
    const ids = [sb.id(), sb.id(), sb.id()];
    const bundles = [
      sb.bundle(["true"]), // runc's default spec denies all devices
      sb.bundle(["true"], (c) => (c.linux.resources = { memory: { swappiness: 10 } })),
      sb.bundle(["true"], (c) => (c.linux.resources = { cpu: { realtimeRuntime: 1000 } })),
    ];
    const cmds = ids.map((id, i) => `$B run -b ${bundles[i]} ${id}; test -e /sys/fs/cgroup/${id} && echo LEFT`);
    const o = inV2(cmds);
    expect(o[0]!.out).toContain("eBPF device program");
    expect(o[1]!.out).toContain("swappiness");
    expect(o[2]!.out).toContain("realtime");
    for (const r of o) expect(r.out).not.toContain("LEFT");
    for (const id of ids) expect(existsSync(`${sb.root}/${id}`)).toBe(false);
  });
});
