/**
 * Rootless bunc: an unprivileged user (bunc-s2, made by the test with
 * /etc/subuid and /etc/subgid ranges) runs containers as runc 1.1.5 does on
 * this cgroup v1 host without delegation, side by side with runc rootless on
 * the same bundle: XDG_RUNTIME_DIR holds the state of both (bunc/, runc/),
 * the config is `bunc spec --rootless`'s, the cgroups are left out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { makeBundle } from "../../scripts/rootfs";
import { BUNC, cgroupHierarchies, integrationSkipReason, type Result, RUNC, type Sandbox, sh } from "../harness";
import { expectOneError, leftovers, lines } from "./cli-helpers";
import { testUser, userDir, type TestUser } from "./rootless-user";

const skip = integrationSkipReason() ?? (!RUNC ? "runc is not installed" : !existsSync("/usr/bin/newuidmap") ? "newuidmap is not installed (uidmap package)" : undefined);
if (skip) console.warn(`skipping rootless tests: ${skip}`);

type Config = Record<string, any>;
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

describe.skipIf(!!skip)("rootless: an unprivileged user runs containers as with runc", () => {
  let user: TestUser;
  let noRanges: TestUser;
  const dir = `/tmp/bunc-rootless-${process.pid}`;
  const xdg = path.join(dir, "xdg");
  const buncRoot = path.join(xdg, "bunc");
  const runcRoot = path.join(xdg, "runc");
  let n = 0;
  const ids: string[] = [];

  beforeAll(() => {
    const u = testUser("bunc-s2");
    const s3 = testUser("bunc-s3");
    if (!u?.sub || !s3) throw new Error("could not make the test users bunc-s2 (with subordinate ranges) and bunc-s3");
    user = u;
    noRanges = s3;
    mkdirSync(dir, { mode: 0o755 });
    userDir(user, xdg);
  });
  afterAll(() => {
    for (const id of ids) {
      as(["bunc", "delete", "-f", id]);
      as(["runc", "delete", "-f", id]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run a command as the user, with the environment of a login: HOME, XDG_RUNTIME_DIR, PATH. */
  function as(cmd: string[], opts: { who?: TestUser; env?: Record<string, string>; cwd?: string } = {}): Result {
    const who = opts.who ?? user;
    const bin = cmd[0] === "bunc" ? BUNC : cmd[0] === "runc" ? RUNC! : cmd[0]!;
    const env = { HOME: "/tmp", XDG_RUNTIME_DIR: xdg, PATH, ...opts.env };
    return sh(["setpriv", "--reuid", String(who.uid), "--regid", String(who.gid), "--init-groups", "env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), bin, ...cmd.slice(1)], { cwd: opts.cwd });
  }

  function id(): string {
    const x = `rl-${process.pid}-${++n}`;
    ids.push(x);
    return x;
  }

  /** A busybox bundle owned by the user, with `bunc spec --rootless`'s config (made as the user) running args. */
  function bundle(args: string[], edit?: (c: Config) => void, who: TestUser = user): string {
    const b = path.join(dir, `bundle-${++n}`);
    makeBundle(b, args);
    rmSync(path.join(b, "config.json"));
    sh(["chown", "-R", `${who.uid}:${who.gid}`, b]);
    const spec = as(["bunc", "spec", "--rootless"], { who, cwd: b });
    expect(spec.code, spec.stderr).toBe(0);
    const file = path.join(b, "config.json");
    const config = JSON.parse(readFileSync(file, "utf8"));
    config.process.terminal = false;
    config.process.args = args;
    edit?.(config);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return b;
  }

  /** What a failed create left: its state dir, cgroups, processes, mounts. */
  function left(root: string, cid: string, b: string): string[] {
    return leftovers({ root } as Sandbox, cid, b);
  }

  test("bunc spec --rootless is runc's", () => {
    const b = bundle(["true"]);
    const ours = JSON.parse(readFileSync(path.join(b, "config.json"), "utf8"));
    rmSync(path.join(b, "config.json"));
    expect(as(["runc", "spec", "--rootless"], { cwd: b }).code).toBe(0);
    const theirs = JSON.parse(readFileSync(path.join(b, "config.json"), "utf8"));
    // bunc writes the spec version it implements (1.3.0, as --version says), runc 1.1 its 1.0.2-dev.
    for (const c of [ours, theirs]) {
      delete c.hostname;
      delete c.ociVersion;
      c.process.terminal = false;
      c.process.args = ["true"];
    }
    expect(ours).toEqual(theirs);
  });

  test("run: the same output as runc rootless; state in $XDG_RUNTIME_DIR/bunc (0700, sticky), empty afterwards", () => {
    const script = "id; cat /proc/self/uid_map /proc/self/gid_map; ls /sys/fs/cgroup; ls -ln /dev/null /dev/zero | cut -c1-10; grep ' /sys ' /proc/self/mounts | cut -d' ' -f3; echo done";
    const b = bundle(["sh", "-c", script]);
    const ours = as(["bunc", "run", "-b", b, id()]);
    const theirs = as(["runc", "run", "-b", b, id()]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.stdout).toMatch(new RegExp(`\\s0\\s+${user.uid}\\s+1\n`));
    expect(ours.stdout).toContain("memory\n");
    expect(ours.stderr).toBe("");
    expect(statSync(buncRoot).mode & 0o7777).toBe(0o1700);
    expect(statSync(buncRoot).uid).toBe(user.uid);
    expect(readdirSync(buncRoot)).toEqual([]);
  });

  test("the exit code and stdin pass through, as runc", () => {
    const b = bundle(["sh", "-c", "read x; echo got $x; exit 7"]);
    const ours = sh(["sh", "-c", `echo hi | setpriv --reuid ${user.uid} --regid ${user.gid} --init-groups env -i XDG_RUNTIME_DIR=${xdg} PATH=${PATH} ${BUNC} run -b ${b} ${id()}`]);
    const theirs = sh(["sh", "-c", `echo hi | setpriv --reuid ${user.uid} --regid ${user.gid} --init-groups env -i XDG_RUNTIME_DIR=${xdg} PATH=${PATH} ${RUNC} run -b ${b} ${id()}`]);
    expect({ code: ours.code, stdout: ours.stdout }).toEqual({ code: theirs.code, stdout: theirs.stdout });
    expect(ours.code).toBe(7);
  });

  test("subordinate ranges through newuidmap/newgidmap: the same maps and ids as runc", () => {
    const script = "cat /proc/self/uid_map /proc/self/gid_map; id";
    const b = bundle(["sh", "-c", script], (c) => {
      c.linux.uidMappings.push({ containerID: 1, hostID: user.sub, size: 65536 });
      c.linux.gidMappings.push({ containerID: 1, hostID: user.sub, size: 65536 });
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const ours = as(["bunc", "run", "-b", b, id()]);
    const theirs = as(["runc", "run", "-b", b, id()]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.stdout).toMatch(new RegExp(`\\s1\\s+${user.sub}\\s+65536\n`));
    expect(ours.stdout).toContain("uid=1000 gid=1000");
  });

  test("create, start, state, list, ps, exec, kill, delete of the user's own container, beside runc", () => {
    const b = bundle(["sleep", "300"]);
    const ours = id();
    const theirs = id();
    for (const [rt, cid] of [["bunc", ours], ["runc", theirs]] as const) {
      const c = as([rt, "create", "-b", b, cid]);
      expect(c.code, `${rt}: ${c.stderr}`).toBe(0);
      expect(JSON.parse(as([rt, "state", cid]).stdout).status).toBe("created");
      expect(as([rt, "start", cid]).code).toBe(0);
      expect(JSON.parse(as([rt, "state", cid]).stdout).status).toBe("running");
    }
    const state = JSON.parse(as(["bunc", "state", ours]).stdout);
    expect(state.pid).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${state.pid}/status`, "utf8")).toMatch(new RegExp(`\\nUid:\\t${user.uid}\\t`));

    // list: the user's own root, the container and its owner (as runc's list).
    const list = as(["bunc", "list"]);
    expect(list.code).toBe(0);
    const row = lines(list.stdout).find((l) => l.startsWith(`${ours} `))!;
    expect(row.split(/\s+/)).toEqual([ours, String(state.pid), "running", b, state.created, user.name]);
    expect(lines(as(["runc", "list"]).stdout).find((l) => l.startsWith(`${theirs} `))!.split(/\s+/).at(-1)).toBe(user.name);

    // exec: the same view as runc's exec.
    const script = "id; cat /proc/self/uid_map; cat /proc/1/cmdline | tr '\\0' ' '";
    const e1 = as(["bunc", "exec", ours, "sh", "-c", script]);
    const e2 = as(["runc", "exec", theirs, "sh", "-c", script]);
    expect(e1.code, e1.stderr).toBe(0);
    expect(e1.stdout).toBe(e2.stdout);

    // ps: runc fails without a cgroup ("unable to get all container pids"); bunc lists the container's PID namespace.
    expect(as(["runc", "ps", theirs]).code).toBe(1);
    const ps = as(["bunc", "ps", ours, "-o", "pid,comm"]);
    expect(ps.code, ps.stderr).toBe(0);
    expect(lines(ps.stdout).slice(1).map((l) => l.trim().split(/\s+/))).toEqual([[String(state.pid), "sleep"]]);

    // pause: no freezer is reachable without delegation; both refuse with runc's words.
    const p1 = as(["bunc", "pause", ours]);
    const p2 = as(["runc", "pause", theirs]);
    expect(p2.code).toBe(1);
    expect(p2.stderr).toContain("cannot toggle freezer: cgroups not configured for container");
    expect(expectOneError(p1, 1)).toContain("cannot toggle freezer: cgroups not configured for container");
    expect(JSON.parse(as(["bunc", "state", ours]).stdout).status).toBe("running");

    // update: no cgroup to write the limit to; runc's words again.
    const u2 = as(["runc", "update", "--memory", "64m", theirs]);
    expect(u2.stderr).toContain("cannot set memory limit: container could not join or create cgroup");
    expect(expectOneError(as(["bunc", "update", "--memory", "64m", ours]), 1)).toContain("cannot set memory limit (memory.limit_in_bytes): container could not join or create cgroup");

    for (const [rt, cid] of [["bunc", ours], ["runc", theirs]] as const) {
      expect(as([rt, "kill", cid, "KILL"]).code).toBe(0);
      for (let i = 0; i < 1000 && JSON.parse(as([rt, "state", cid]).stdout).status !== "stopped"; i++) Bun.sleepSync(5);
      expect(JSON.parse(as([rt, "state", cid]).stdout).status).toBe("stopped");
      expect(as([rt, "delete", cid]).code).toBe(0);
      expect(as([rt, "state", cid]).code).toBe(1);
    }
    expect(left(buncRoot, ours, b)).toEqual([]);
  });

  test("root in a user namespace of its own (unshare --map-root-user, as rootless podman runs its runtime): the same as runc", () => {
    // No user namespace in the config: bunc is euid 0 in one already, so --rootless auto forgives the cgroups,
    // /dev nodes are bound (mknod is refused there) and setgroups is "deny" (not called), as runc.
    const b = bundle(["sleep", "300"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: Config) => ns.type !== "user");
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    });
    const ours = id();
    const theirs = id();
    const script = "id; ls -ln /dev/null | cut -c1-10; cat /proc/self/uid_map";
    const inNs = (rt: string, cid: string) =>
      as(["unshare", "--user", "--map-root-user", "sh", "-c", `${rt} run -d -b ${b} ${cid} </dev/null >/dev/null && ${rt} exec ${cid} sh -c '${script}'; ${rt} delete -f ${cid}`]);
    const o = inNs(BUNC, ours);
    const t = inNs(RUNC!, theirs);
    expect(o.stderr).toBe("");
    expect(o.code).toBe(0);
    expect(o.stdout).toBe(t.stdout);
    expect(o.stdout).toStartWith("uid=0(root) gid=0(root) groups=0(root)\ncrw-rw-rw-\n");
    expect(left(buncRoot, ours, b)).toEqual([]);
  });

  test("another user's root: list is permission denied, exit 1 (as runc)", () => {
    const other = path.join(dir, "root-only");
    mkdirSync(other, { mode: 0o700 });
    const ours = as(["bunc", "--root", other, "list"]);
    const theirs = as(["runc", "--root", other, "list"]);
    expect(theirs.code).toBe(1);
    expect(expectOneError(ours, 1)).toBe(`bunc: open ${other}: permission denied`);
    expect(as(["bunc", "--root", other, "state", "x"]).code).toBe(1);
  });

  test("a root-only config (no user namespace): runc's 'rootless container requires user namespaces'", () => {
    const b = bundle(["true"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: Config) => ns.type !== "user");
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    });
    const cid = id();
    expect(as(["runc", "run", "-b", b, cid]).stderr).toContain("rootless container requires user namespaces");
    expect(expectOneError(as(["bunc", "run", "-b", b, cid]), 1)).toContain("rootless container requires user namespaces");
    expect(left(buncRoot, cid, b)).toEqual([]);
  });

  test("a rootful config with a user namespace: /dev nodes are the host's, bound; sysfs without a network namespace is bound from the host", () => {
    // runc spec's (rootful) mounts and devices; runc itself fails at sysfs here (EPERM), bunc binds /sys as crun does.
    const b = bundle(["sh", "-c", "ls -ln /dev/null | cut -c1-10; ls /sys/kernel >/dev/null && grep ' /sys ' /proc/self/mounts | cut -d' ' -f3,4 | cut -d, -f1"], (c) => {
      c.mounts = c.mounts.filter((m: Config) => m.destination !== "/sys");
      c.mounts.push({ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] });
    });
    const cid = id();
    const theirs = as(["runc", "run", "-b", b, cid]);
    expect(theirs.stderr).toContain("operation not permitted");
    const ours = as(["bunc", "run", "-b", b, id()]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout).toBe("crw-rw-rw-\nsysfs ro\n");
    expect(lines(ours.stderr)).toEqual(["bunc: warning: /sys: sysfs cannot be mounted in a user namespace without its own network namespace: bound from the host's /sys (rbind)"]);
  });

  test("--rootless false as a user: cgroup permission errors are not forgiven", () => {
    const b = bundle(["true"]);
    const cid = id();
    expect(expectOneError(as(["bunc", "--rootless", "false", "run", "-b", b, cid]), 1)).toMatch(/^bunc: create cgroup: EACCES/);
    expect(left(buncRoot, cid, b)).toEqual([]);
    expect(as(["bunc", "--rootless=true", "run", "-b", b, id()]).code).toBe(0);
  });

  test("cgroup v2 not delegated (a private cgroup2-only view): runs without limits; a memory limit is one error naming memory.max", () => {
    const ok = bundle(["sh", "-c", "echo ran"]);
    const mem = bundle(["true"], (c) => (c.linux.resources = { memory: { limit: 100 * 1024 * 1024 } }));
    const su = `setpriv --reuid ${user.uid} --regid ${user.gid} --init-groups env -i XDG_RUNTIME_DIR=${xdg} PATH=${PATH} ${BUNC}`;
    const a = id();
    const b = id();
    // As ARCHITECTURE.md's recipe: a mount namespace of its own whose /sys/fs/cgroup is cgroup2 only.
    const script = `umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 99; test -f /sys/fs/cgroup/cgroup.controllers || exit 98;
      ${su} run -b ${ok} ${a}; echo "rc=$?"; ${su} run -b ${mem} ${b} 2>&1; echo "rc=$?"; ls ${buncRoot}`;
    const r = sh(["unshare", "-m", "--propagation", "private", "sh", "-c", script]);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe("ran");
    expect(out[1]).toBe("rc=0");
    expect(out[2]).toMatch(/^bunc: cannot set memory limit \(memory\.max\): container could not join or create cgroup \(\/sys\/fs\/cgroup\S*: EACCES\)/);
    expect(out.slice(3)).toEqual(["rc=1"]);
  });

  const hugetlbV2 = existsSync("/sys/fs/cgroup/unified/cgroup.controllers") && readFileSync("/sys/fs/cgroup/unified/cgroup.controllers", "utf8").split(/\s+/).includes("hugetlb");
  if (!hugetlbV2) console.warn("skipping the delegated cgroup2 test: this host's cgroup2 hierarchy offers no hugetlb controller to delegate");
  test.skipIf(!hugetlbV2)("a delegated cgroup2 subtree (as systemd's user slice): the container's cgroup beside the session's, limits, pause, ps, delete — where runc puts it", () => {
    // Delegation as cgroup-v2.rst ("Delegation Containment") and systemd's Delegate=yes: the
    // directory and its cgroup.procs/threads/subtree_control files belong to the user, and the
    // user's session already runs inside it (a move needs write access at the common ancestor).
    // The relative cgroupsPath then lands beside the session's cgroup, under its parent (runc's
    // fs2 defaultDirPath); the session's own cgroup has processes, so no controller could be
    // enabled below it. This host's cgroup2 has hugetlb only: its limit stands for the others.
    const results: Record<string, string[]> = {};
    for (const rt of ["bunc", "runc"] as const) {
      const cid = id();
      const b = bundle(["sleep", "30"], (c) => {
        c.linux.cgroupsPath = `c-${rt}`;
        c.linux.resources = { hugepageLimits: [{ pageSize: "2MB", limit: 4 * 1024 * 1024 }] };
      });
      const bin = rt === "bunc" ? BUNC : RUNC!;
      const u = `setpriv --reuid ${user.uid} --regid ${user.gid} --init-groups env -i XDG_RUNTIME_DIR=${xdg} PATH=${PATH} ${bin}`;
      const D = `/sys/fs/cgroup/bunc-deleg-${process.pid}-${rt}`;
      const script = `umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 99
        added=0; grep -qw hugetlb /sys/fs/cgroup/cgroup.subtree_control || { echo +hugetlb > /sys/fs/cgroup/cgroup.subtree_control && added=1; } || exit 95
        trap 'echo $$ > /sys/fs/cgroup/cgroup.procs; rmdir ${D}/c-${rt} ${D}/session ${D} 2>/dev/null; [ $added = 0 ] || echo -hugetlb > /sys/fs/cgroup/cgroup.subtree_control' EXIT
        mkdir ${D} ${D}/session && chown ${user.uid}:${user.gid} ${D} ${D}/cgroup.procs ${D}/cgroup.threads ${D}/cgroup.subtree_control ${D}/session ${D}/session/cgroup.procs || exit 98
        echo $$ > ${D}/session/cgroup.procs || exit 97
        setpriv --reuid ${user.uid} --regid ${user.gid} --init-groups sh -c 'echo +hugetlb > ${D}/cgroup.subtree_control' || exit 96
        ${u} run -d -b ${b} ${cid} </dev/null 2>/dev/null; echo "run $?"
        (cd ${D} && find . -mindepth 1 -maxdepth 2 -type d | sort | tr '\\n' ' '); echo
        cat ${D}/c-${rt}/hugetlb.2MB.max
        ${u} pause ${cid} 2>/dev/null; echo "pause $? $(cat ${D}/c-${rt}/cgroup.freeze) $(${u} state ${cid} | grep -o '"status": "[a-z]*"')"
        ${u} resume ${cid} 2>/dev/null; echo "resume $? $(cat ${D}/c-${rt}/cgroup.freeze)"
        echo "ps $(${u} ps ${cid} 2>/dev/null | tail -n +2 | wc -l) $(wc -l < ${D}/c-${rt}/cgroup.procs)"
        ${u} delete -f ${cid}; echo "delete $?"
        (cd ${D} && find . -mindepth 1 -type d | sort | tr '\\n' ' '); echo
        echo $$ > /sys/fs/cgroup/cgroup.procs; rmdir ${D}/c-${rt} 2>/dev/null; rmdir ${D}/session ${D}
        [ $added = 0 ] || echo -hugetlb > /sys/fs/cgroup/cgroup.subtree_control`;
      const r = sh(["unshare", "-m", "--propagation", "private", "sh", "-c", script], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      results[rt] = lines(r.stdout.replaceAll(`c-${rt}`, "c-RT")).map((l) => l.trimEnd());
      expect(existsSync(`/sys/fs/cgroup/unified/bunc-deleg-${process.pid}-${rt}`)).toBe(false);
    }
    expect(results.bunc).toEqual(["run 0", "./c-RT ./session", String(4 * 1024 * 1024), 'pause 0 1 "status": "paused"', "resume 0 0", "ps 1 1", "delete 0", "./session"]);
    expect(results.bunc).toEqual(results.runc!);
  });

  describe("bad input: one clear error, nothing left behind", () => {
    test("a memory limit without a delegated cgroup names the limit (runc: 'cannot set memory limit')", () => {
      const b = bundle(["sleep", "300"], (c) => (c.linux.resources = { memory: { limit: 100 * 1024 * 1024 } }));
      const cid = id();
      expect(as(["runc", "run", "-d", "-b", b, cid]).stderr).toContain("cannot set memory limit: container could not join or create cgroup");
      const err = expectOneError(as(["bunc", "run", "-d", "-b", b, cid]), 1);
      expect(err).toContain("cannot set memory limit (memory.limit_in_bytes): container could not join or create cgroup");
      expect(err).toContain("delegate");
      expect(left(buncRoot, cid, b)).toEqual([]);
    });

    test("a user without subordinate ranges: newuidmap's refusal and where ranges come from", () => {
      const xdg3 = userDir(noRanges, path.join(dir, "xdg-s3"));
      const b = bundle(["sleep", "300"], (c) => {
        c.linux.uidMappings.push({ containerID: 1, hostID: 400000, size: 1000 });
        c.linux.gidMappings.push({ containerID: 1, hostID: 400000, size: 1000 });
      }, noRanges);
      const cid = id();
      const env = { XDG_RUNTIME_DIR: xdg3 };
      expect(as(["runc", "run", "-b", b, cid], { who: noRanges, env }).code).not.toBe(0);
      const err = expectOneError(as(["bunc", "run", "-b", b, cid], { who: noRanges, env }), 1);
      expect(err).toMatch(/^bunc: newuidmap \d+ 0 \d+ 1 1 400000 1000: newuidmap: uid range \[1-1001\) -> \[400000-401000\) not allowed \(\/etc\/subuid must grant/);
      expect(left(path.join(xdg3, "bunc"), cid, b)).toEqual([]);
    });

    test("newuidmap missing (not in PATH)", () => {
      const empty = path.join(dir, "empty-bin");
      mkdirSync(empty, { recursive: true });
      const b = bundle(["sleep", "300"], (c) => {
        c.linux.uidMappings.push({ containerID: 1, hostID: user.sub, size: 1000 });
        c.linux.gidMappings.push({ containerID: 1, hostID: user.sub, size: 1000 });
      });
      const cid = id();
      expect(as(["runc", "run", "-b", b, cid], { env: { PATH: empty } }).code).not.toBe(0);
      const err = expectOneError(as(["bunc", "run", "-b", b, cid], { env: { PATH: empty } }), 1);
      expect(err).toBe("bunc: newuidmap is needed to map these ids without root and is not in PATH: install the uidmap package");
      expect(left(buncRoot, cid, b)).toEqual([]);
    });

    test("an --root the user cannot write", () => {
      const locked = path.join(dir, "locked");
      mkdirSync(locked, { mode: 0o755 });
      const b = bundle(["sleep", "300"]);
      const cid = id();
      expect(as(["runc", "--root", path.join(locked, "state"), "run", "-b", b, cid]).code).not.toBe(0);
      const err = expectOneError(as(["bunc", "--root", path.join(locked, "state"), "run", "-b", b, cid]), 1);
      expect(err).toBe(`bunc: create state directory ${locked}/state/${cid}: EACCES: permission denied, mkdir '${locked}/state'`);
      expect(readdirSync(locked)).toEqual([]);
      expect(left(path.join(locked, "state"), cid, b)).toEqual([]);
    });

    test("an $XDG_RUNTIME_DIR the user cannot write: says so, and --root is the way out", () => {
      const theirs = path.join(dir, "xdg-root-owned");
      mkdirSync(theirs, { mode: 0o755 });
      const err = expectOneError(as(["bunc", "list"], { env: { XDG_RUNTIME_DIR: theirs } }), 1);
      expect(err).toContain(`state directory ${theirs}/bunc: EACCES`);
      expect(err).toContain("the path in $XDG_RUNTIME_DIR must be writable by the user");
      expect(readdirSync(theirs)).toEqual([]);
    });
  });
});

describe.skipIf(!!skip)("--rootless true as root", () => {
  test("the device rules still apply where they can be written (runc only ignores their failure)", () => {
    const dir = `/tmp/bunc-rootless-r-${process.pid}`;
    try {
      makeBundle(path.join(dir, "b"), ["sleep", "300"]);
      const root = path.join(dir, "state");
      const cid = `rl-root-${process.pid}`;
      const r = sh([BUNC, "--root", root, "--rootless=true", "run", "-d", "-b", path.join(dir, "b"), cid]);
      expect(r.code, r.stderr).toBe(0);
      try {
        const paths: Record<string, string> = JSON.parse(readFileSync(path.join(root, cid, "state.json"), "utf8")).cgroupPaths;
        const devices = Object.entries(paths).find(([mp]) => path.basename(mp).split(",").includes("devices"))![1];
        const list = readFileSync(path.join(devices, "devices.list"), "utf8");
        expect(list).not.toContain("a *:* rwm");
        expect(list).toContain("c 1:3 rwm");
      } finally {
        sh([BUNC, "--root", root, "delete", "-f", cid]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A delegated cgroup: a directory of the user's own in every v1 hierarchy, given as cgroupsPath.
describe.skipIf(!!skip)("rootless with a delegated cgroup", () => {
  test("limits apply in a cgroup the user owns", () => {
    const user = testUser("bunc-s2")!;
    const dir = `/tmp/bunc-rootless-d-${process.pid}`;
    const xdg = userDir(user, path.join(dir, "xdg"));
    const name = `bunc-rootless-deleg-${process.pid}`;
    const memory = `/sys/fs/cgroup/memory/${name}`;
    const made: string[] = [];
    try {
      for (const h of cgroupHierarchies()) {
        const d = `/sys/fs/cgroup/${h}/${name}`;
        // v1 hierarchies only (cpu and cpuacct are symlinks to cpu,cpuacct): the hybrid host's cgroup2 one
        // cannot be delegated by a chown (a move needs the common ancestor's cgroup.procs) and is left out.
        if (!existsSync(`/sys/fs/cgroup/${h}/tasks`) || lstatSync(`/sys/fs/cgroup/${h}`).isSymbolicLink()) continue;
        if (existsSync(d)) continue;
        mkdirSync(d);
        made.push(d);
        if (h.includes("cpuset")) for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(`${d}/${f}`, readFileSync(`/sys/fs/cgroup/${h}/${f}`, "utf8"));
        // Delegation as cgroups(7) describes it: the directory and its tasks/cgroup.procs files.
        for (const f of [d, `${d}/tasks`, `${d}/cgroup.procs`, ...readdirSync(d).filter((x) => x.startsWith("memory.") || x.startsWith("pids.")).map((x) => `${d}/${x}`)]) chownSync(f, user.uid, user.gid);
      }
      const b = path.join(dir, "b");
      makeBundle(b, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
      rmSync(path.join(b, "config.json"));
      sh(["chown", "-R", `${user.uid}:${user.gid}`, dir]);
      const env = ["env", "-i", "HOME=/tmp", `XDG_RUNTIME_DIR=${xdg}`, `PATH=${PATH}`];
      const su = ["setpriv", "--reuid", String(user.uid), "--regid", String(user.gid), "--init-groups", ...env];
      expect(sh([...su, BUNC, "spec", "--rootless"], { cwd: b }).code).toBe(0);
      const config = JSON.parse(readFileSync(path.join(b, "config.json"), "utf8"));
      config.process.terminal = false;
      config.process.args = ["sh", "-c", "cat /proc/self/cgroup | grep memory"];
      config.linux.cgroupsPath = `/${name}/c`;
      config.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
      writeFileSync(path.join(b, "config.json"), JSON.stringify(config));
      const cid = `deleg-${process.pid}`;
      const r = sh([...su, BUNC, "run", "-d", "-b", b, cid]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(`${memory}/c/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 * 1024 * 1024));
      expect(readFileSync(`/sys/fs/cgroup/pids/${name}/c/pids.max`, "utf8").trim()).toBe("50");
      for (let i = 0; i < 1000 && JSON.parse(sh([...su, BUNC, "state", cid]).stdout).status !== "stopped"; i++) Bun.sleepSync(5);
      const d = sh([...su, BUNC, "delete", cid]);
      expect(d.code, d.stderr).toBe(0);
      expect(existsSync(`${memory}/c`)).toBe(false);
    } finally {
      for (const d of made.reverse()) {
        try {
          for (const sub of readdirSync(d, { withFileTypes: true })) if (sub.isDirectory()) rmSync(`${d}/${sub.name}`, { recursive: false, force: true });
        } catch {}
        try {
          sh(["rmdir", `${d}/c`]);
          sh(["rmdir", d]);
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

