/**
 * The cgroup v2 path, in a private mount namespace that sees only cgroup2
 * (unshare -m; umount -R /sys/fs/cgroup; mount -t cgroup2). On this hybrid
 * host the cgroup2 hierarchy has no memory/cpu/pids controllers, so limits
 * are checked to be refused clearly; cgroup.procs, cgroup.freeze,
 * cgroup.kill and cgroup.events are real.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh } from "../harness";

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
    // A fixed set of processes (sh and one sleep) once /ticks exists: the ticker waits with
    // the shell's own `read -t` on a FIFO nobody writes, so it forks nothing while ps and
    // cgroup.procs are compared (a `sleep 0.05` per tick made the two reads differ at random).
    const b = sb.bundle(["sh", "-c", "mkfifo /tick.fifo; exec 3<>/tick.fifo; sleep 60 & i=0; while :; do i=$((i+1)); echo $i > /ticks; read -t 0.05 x <&3; done"], (c) => {
      c.root.readonly = false;
    });
    const cmds = [
      `$B run -d -b ${b} ${id} </dev/null; n=0; until [ -s ${b}/rootfs/ticks ] || [ $n -ge 200 ]; do n=$((n+1)); sleep 0.05; done`,
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
    expect(pids).toHaveLength(2);
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

  test("events streams until the container's last process exits (cgroup.events populated 0), as runc's inotify watch", () => {
    const id = sb.id();
    const b = sb.bundle(["sh", "-c", "while [ ! -e /go ]; do sleep 0.05; done"], (c) => {
      c.root.readonly = false;
    });
    // events runs in the background; the container ends only when told to, after events has started.
    const o = inV2([
      `$B run -d -b ${b} ${id} </dev/null`,
      // "watching" once bunc (timeout's child) holds its inotify fd: a loaded host took more than
      // the 0.5 s once given, the container was gone first and events said "it is stopped".
      `timeout 20 $B events --interval 1h ${id} > ${sb.dir}/events-${id}.out & T=$!; echo $T > ${sb.dir}/events-${id}.pid; n=0; until for p in $(pgrep -P $T); do ls -l /proc/$p/fd; done 2>/dev/null | grep -q inotify || [ $n -ge 400 ]; do n=$((n+1)); sleep 0.05; done; kill -0 $T && echo watching`,
      `touch ${b}/rootfs/go; wait $(cat ${sb.dir}/events-${id}.pid); echo "events rc $?"`,
      `$B state ${id}`,
      `$B delete ${id}`,
    ]);
    expect(o[0]!.rc).toBe(0);
    expect(o[1]!.out).toContain("watching");
    expect(o[2]!.out).toContain("events rc 0"); // not 124: timeout did not have to stop it
    expect(readFileSync(`${sb.dir}/events-${id}.out`, "utf8")).toBe(""); // no OOM, no stats within 1h
    expect(JSON.parse(o[3]!.out).status).toBe("stopped");
    expect(o[4]!.rc).toBe(0);
  }, 40_000);

  test("v2 refusals: a bad device rule, v1-only fields; nothing left behind", () => {
    const ids = [sb.id(), sb.id(), sb.id()];
    const bundles = [
      // A hole in a wider allow: cgroup v1 would ignore it silently, so it is refused on both.
      sb.bundle(["true"], (c) => c.linux.resources.devices.push({ allow: true, type: "c", major: 240, access: "rw" }, { allow: false, type: "c", major: 240, minor: 2, access: "w" })),
      sb.bundle(["true"], (c) => (c.linux.resources = { memory: { swappiness: 10 } })),
      sb.bundle(["true"], (c) => (c.linux.resources = { cpu: { realtimeRuntime: 1000 } })),
    ];
    const cmds = ids.map((id, i) => `$B run -b ${bundles[i]} ${id}; test -e /sys/fs/cgroup/${id} && echo LEFT`);
    const o = inV2(cmds);
    expect(o[0]!.out).toContain("linux.resources.devices[2]: cannot take w of c 240:2 out of the wider exception c 240:*");
    expect(o[1]!.out).toContain("swappiness");
    expect(o[2]!.out).toContain("realtime");
    for (const r of o) expect(r.out).not.toContain("LEFT");
    for (const id of ids) expect(existsSync(`${sb.root}/${id}`)).toBe(false);
  });

  /**
   * A node with an unused major (240, "local/experimental"): an open the
   * device program lets through fails with ENXIO (no driver), one it refuses
   * with EPERM, so the verdict is seen without touching a real device.
   */
  const PROBE = `echo x > /dev/null && echo null-ok; for m in r w rw; do case $m in r) (: </dev/t);; w) (: >/dev/t);; rw) (: <>/dev/t);; esac 2>&1 | sed "s/.*: //; s/^/$m: /"; done`;
  const withProbe = (rules?: object[], replace = false) => (c: any) => {
    c.linux.devices = [{ path: "/dev/t", type: "c", major: 240, minor: 0, fileMode: 0o666 }];
    if (rules) c.linux.resources.devices = replace ? rules : [...c.linux.resources.devices, ...rules];
  };
  const verdicts = (out: string) => out.trim().split("\n");
  const EPERM = "Operation not permitted", ENXIO = "No such device or address";

  test("device rules through an eBPF program: deny-all + defaults, explicit allows, a deny list; as runc (and v1) decide", () => {
    const cases: [object[] | undefined, boolean, string[]][] = [
      [undefined, false, ["null-ok", `r: ${EPERM}`, `w: ${EPERM}`, `rw: ${EPERM}`]], // runc's spec: deny all, then the defaults
      [[{ allow: true, type: "c", major: 240, minor: 0, access: "r" }], false, ["null-ok", `r: ${ENXIO}`, `w: ${EPERM}`, `rw: ${EPERM}`]],
      [[{ allow: true, type: "c", major: 240, access: "rw" }], false, ["null-ok", `r: ${ENXIO}`, `w: ${ENXIO}`, `rw: ${ENXIO}`]],
      // Allow all but writing: O_RDWR asks for w too, refused as cgroup v1 refuses it (runc 1.1's program lets it through).
      [[{ allow: true, access: "rwm" }, { allow: false, type: "c", major: 240, minor: 0, access: "w" }], true, ["null-ok", `r: ${ENXIO}`, `w: ${EPERM}`, `rw: ${EPERM}`]],
    ];
    const bundles = cases.map(([rules, replace]) => sb.bundle(["sh", "-c", PROBE], withProbe(rules, replace)));
    const ids = cases.map(() => sb.id());
    const cmds = bundles.map((b, i) => `$B run -b ${b} ${ids[i]} </dev/null`);
    if (RUNC) cmds.push(...bundles.map((b, i) => `${RUNC} --root ${sb.dir}/runc-state run -b ${b} r${ids[i]} </dev/null`));
    const o = inV2(cmds);
    cases.forEach(([, , want], i) => {
      expect(o[i]!.rc).toBe(0);
      expect(verdicts(o[i]!.out)).toEqual(want);
      if (RUNC && i < 3) expect(verdicts(o[cases.length + i]!.out)).toEqual(want);
    });
    if (RUNC) expect(verdicts(o[cases.length + 3]!.out)).toContain(`rw: ${ENXIO}`); // runc's subset check on a deny rule
  }, 40_000);

  test("update -r with device rules replaces bunc's program (the old deny no longer applies); an update without rules keeps it", () => {
    const id = sb.id();
    const b = sb.bundle(["sleep", "60"], withProbe());
    writeFileSync(`${sb.dir}/allow.json`, JSON.stringify({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 240, minor: 0, access: "rw" }] }));
    writeFileSync(`${sb.dir}/bad.json`, JSON.stringify({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 240, access: "rw" }, { allow: false, type: "c", major: 240, minor: 0, access: "r" }] }));
    const o = inV2([
      `$B run -d -b ${b} ${id} </dev/null`,
      `$B exec ${id} sh -c '${PROBE}'`,
      `$B update -r ${sb.dir}/allow.json ${id}`,
      `$B exec ${id} sh -c '${PROBE}'`,
      `$B update -r ${sb.dir}/bad.json ${id}`,
      `$B update --pids-limit 0 ${id}; $B exec ${id} sh -c '${PROBE}'`,
      `$B delete -f ${id}`,
    ]);
    expect(o[0]!.rc).toBe(0);
    expect(verdicts(o[1]!.out)).toEqual(["null-ok", `r: ${EPERM}`, `w: ${EPERM}`, `rw: ${EPERM}`]);
    expect(o[2]!.rc).toBe(0);
    expect(verdicts(o[3]!.out)).toEqual(["null-ok", `r: ${ENXIO}`, `w: ${ENXIO}`, `rw: ${ENXIO}`]);
    expect(o[4]!.rc).toBe(1);
    expect(o[4]!.out).toContain("devices[2]: cannot take r of c 240:0");
    expect(verdicts(o[5]!.out)).toEqual(["null-ok", `r: ${ENXIO}`, `w: ${ENXIO}`, `rw: ${ENXIO}`]);
    expect(o[6]!.rc).toBe(0);
  }, 40_000);

  test.skipIf(!existsSync("/usr/bin/strace"))("create: the process is born in its cgroup (CLONE_INTO_CGROUP), no cgroup.procs write", () => {
    const id = sb.id();
    const b = sb.bundle(["cat", "/proc/self/cgroup"]);
    const o = inV2([`strace -f -qq -e trace=openat,clone3 -o ${sb.dir}/strace.txt $B run -b ${b} ${id} </dev/null`, `grep -c 'cgroup.procs' ${sb.dir}/strace.txt`, `grep -c CLONE_INTO_CGROUP ${sb.dir}/strace.txt`]);
    expect(o[0]!.rc).toBe(0);
    expect(o[0]!.out).toContain(`\n0::/${id}\n`); // the host's v1 hierarchies are listed too
    expect(o[1]!.out.trim()).toBe("0");
    expect(o[2]!.out.trim()).toBe("1");
  });
});
