/**
 * Hooks, sysctl, capabilities and the process invariants on the compiled
 * binary: no runtime fd leaks into the container, its cwd is inside the
 * rootfs, and the waiting process (the bunc image until execve) cannot be
 * reached through /proc/PID/exe (CVE-2019-5736 class) during create, start
 * or exec.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox } from "../harness";
import { both, buncRun, runcRun, setNamespace, show, startLong, stopLong, type Edit } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.log(`skip security-process: ${skip}`);
const sb = new Sandbox();
afterAll(() => sb.cleanup());

/** A hook script that appends "KIND STATE-JSON MNT-NS" to log. */
function hookScript(log: string): string {
  const file = `${sb.dir}/hook-${Math.random().toString(36).slice(2)}.sh`;
  writeFileSync(file, `#!/bin/sh\necho "$1 $(cat) $(readlink /proc/self/ns/mnt)" >> ${log}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe.skipIf(!!skip)("hooks", () => {
  test("all six run in the spec's order, with the state on stdin, in the right namespaces", () => {
    const log = `${sb.dir}/hooks.log`;
    const script = hookScript(log);
    const h = (kind: string) => ({ path: script, args: ["hook", kind] });
    const id = sb.id();
    const bundle = sb.bundle(["true"], (c) => {
      c.root.readonly = false;
      c.hooks = {
        prestart: [h("prestart")], createRuntime: [h("createRuntime")], createContainer: [h("createContainer")],
        // startContainer resolves in the container: busybox's sh writes to the rootfs.
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "echo startContainer $(cat) > /startContainer.log"] }],
        poststart: [h("poststart")], poststop: [h("poststop")],
      };
    });
    expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
    const created = readFileSync(log, "utf8").trim().split("\n");
    expect(created.map((l) => l.split(" ")[0])).toEqual(["prestart", "createRuntime", "createContainer"]);
    const pid = sb.state(id).pid;
    const state = JSON.parse(created[0]!.split(" ")[1]!);
    expect(state).toEqual({ ociVersion: "1.3.0", id, status: "creating", pid, bundle });
    const hostNs = `mnt:[${statSync("/proc/self/ns/mnt").ino}]`;
    expect(created[1]!.endsWith(hostNs)).toBe(true);
    expect(created[2]!.endsWith(hostNs)).toBe(false); // createContainer: in the container's mount namespace
    expect(sb.bunc(["start", id]).code).toBe(0);
    for (let i = 0; i < 100 && !existsSync(`${bundle}/rootfs/startContainer.log`); i++) Bun.sleepSync(20);
    expect(JSON.parse(readFileSync(`${bundle}/rootfs/startContainer.log`, "utf8").slice("startContainer ".length)).status).toBe("created");
    expect(readFileSync(log, "utf8").trim().split("\n")[3]!).toContain('"status":"running"');
    for (let i = 0; i < 100 && sb.state(id).status !== "stopped"; i++) Bun.sleepSync(20);
    expect(sb.bunc(["delete", id]).code).toBe(0);
    const last = readFileSync(log, "utf8").trim().split("\n")[4]!;
    expect(last.split(" ")[0]).toBe("poststop");
    expect(JSON.parse(last.split(" ")[1]!)).toEqual({ ociVersion: "1.3.0", id, status: "stopped", bundle });
  });

  test("a failing createRuntime hook fails create, runs poststop, leaves nothing behind", () => {
    const log = `${sb.dir}/fail.log`;
    const id = sb.id();
    const bundle = sb.bundle(["true"], (c) => (c.hooks = { createRuntime: [{ path: "/bin/false" }], poststop: [{ path: hookScript(log), args: ["h", "poststop"] }] }));
    const r = sb.bunc(["create", "-b", bundle, id]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toBe('bunc: createRuntime hook "/bin/false" failed: exit status 1\n');
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    expect(readFileSync(log, "utf8")).toStartWith("poststop ");
  });

  test("createContainer hooks run with the container's root as cwd (config.md), as runc", () => {
    for (const tool of ["bunc", "runc"] as const) {
      if (tool === "runc" && !RUNC) continue;
      const out = `${sb.dir}/cwd-${tool}.out`;
      let bundle = "";
      const edit: Edit = (c) => (c.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `pwd > ${out}; test -x ./bin/busybox`] }] });
      const r = (tool === "bunc" ? buncRun : runcRun)(sb, "true", edit, { prepare: (b) => (bundle = b) });
      expect(r.code, `${tool}: ${show(r)}`).toBe(0);
      expect(readFileSync(out, "utf8"), tool).toBe(`${realpathSync(`${bundle}/rootfs`)}\n`);
    }
  });

  test("a createContainer hook that outlives its timeout is killed and fails create", () => {
    const r = buncRun(sb, "true", (c) => (c.hooks = { createContainer: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] }));
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toBe('bunc: createContainer hook "/bin/sleep" failed: timed out\n');
  });

  test("env and args reach the hook; a failing poststart is a warning", () => {
    const out = `${sb.dir}/env.out`;
    const r = buncRun(sb, "true", (c) => (c.hooks = {
      prestart: [{ path: "/bin/sh", args: ["sh", "-c", `echo "$0 $FOO" > ${out}`, "arg0"], env: ["FOO=bar"] }],
      poststart: [{ path: "/bin/false" }],
    }));
    expect(r.code, show(r)).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("arg0 bar\n");
    expect(r.stderr).toBe('bunc: warning: poststart hook "/bin/false" failed: exit status 1\n');
  });

  test("a hook path that does not exist is one clear error, nothing left behind", () => {
    const id = sb.id();
    const r = sb.bunc(["run", "-b", sb.bundle(["true"], (c) => (c.hooks = { poststop: [{ path: "/no/such/hook" }] })), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('bunc: config.json: hooks.poststop[0].path "/no/such/hook": no such file\n');
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
  });
});

describe.skipIf(!!skip)("sysctl", () => {
  test("net.* with the host's network namespace joined by path: refused as runc; another container's: written there", () => {
    const edit = (netns: string): Edit => (c) => {
      c.linux.sysctl = { "net.ipv4.ip_unprivileged_port_start": "99" };
      setNamespace(c, "network", netns);
    };
    const host = both(sb, "true", edit("/proc/self/ns/net"));
    expect(host.bunc.code, host.why).toBe(1);
    expect(host.bunc.stderr, host.why).toBe('bunc: config.json: linux.sysctl "net.ipv4.ip_unprivileged_port_start": not allowed in the host\'s network namespace, which linux.namespaces joins by path\n');
    if (host.runc) {
      expect(host.runc.code, host.why).not.toBe(0);
      expect(host.runc.stderr, host.why).toContain("not allowed in host network namespace");
    }
    const hostValue = readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8");
    const long = startLong(sb);
    try {
      const other = both(sb, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start", edit(`/proc/${long.pid}/ns/net`));
      expect(other.bunc.stdout, other.why).toBe("99\n");
      if (other.runc) expect(other.runc.stdout, other.why).toBe("99\n");
    } finally {
      stopLong(sb, long);
    }
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).toBe(hostValue);
  });

  test("namespaced keys are written in the container, not on the host", () => {
    const hostShmmax = readFileSync("/proc/sys/kernel/shmmax", "utf8");
    const r = both(sb, "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/fs/mqueue/msg_max", (c) => {
      c.linux.sysctl = { "kernel.shmmax": "123456", "net.ipv4.ip_forward": "1", "fs.mqueue.msg_max": "20" };
    });
    expect(r.bunc.stdout, r.why).toBe("123456\n1\n20\n");
    if (r.runc) expect(r.runc.stdout, r.why).toBe(r.bunc.stdout);
    expect(readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(hostShmmax);
  });

  for (const [key, msg] of [
    ["vm.swappiness", "not a namespaced sysctl"],
    ["net.ipv4.ip_forward", "needs a network namespace"],
  ] as const) {
    test(`${key} without its namespace is refused with the reason, nothing left behind`, () => {
      const id = sb.id();
      const bundle = sb.bundle(["true"], (c) => {
        c.linux.sysctl = { [key]: "1" };
        c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "network");
      });
      const r = sb.bunc(["run", "-b", bundle, id]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain(msg);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    });
  }
});

describe.skipIf(!!skip)("process invariants", () => {
  test("no runtime fd reaches the container: only 0, 1, 2 and the preserved ones; cwd is inside the rootfs", () => {
    // Read from the host, so that no shell pipeline of the container's own adds fds while we look.
    const fdsOf = (flags: string[]) => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "60"]);
      const r = sb.bunc(["run", "-d", ...flags, "-b", bundle, id]);
      expect(r.code, show(r)).toBe(0);
      const pid = sb.state(id).pid;
      const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
      // The cwd is the rootfs itself (seen from the host: the same inode), not a host directory.
      const cwd = { path: readlinkSync(`/proc/${pid}/cwd`), inRootfs: statSync(`/proc/${pid}/cwd`).ino === statSync(`${bundle}/rootfs`).ino };
      sb.bunc(["delete", "-f", id]);
      return { fds, cwd };
    };
    const plain = fdsOf([]);
    expect(plain.fds).toEqual([0, 1, 2]);
    expect(plain.cwd).toEqual({ path: "/", inRootfs: true });
    expect(fdsOf(["--preserve-fds", "1"]).fds).toEqual([0, 1, 2, 3]);
    const r = both(sb, "readlink /proc/self/cwd");
    expect(r.bunc.stdout, r.why).toBe("/\n");
    if (r.runc) expect(r.runc.stdout, r.why).toBe(r.bunc.stdout);
  });

  test("exec --cwd /proc/self/fd/N: no runtime fd becomes the process's cwd (CVE-2024-21626)", () => {
    const id = sb.id();
    expect(sb.bunc(["run", "-d", "-b", sb.bundle(["sleep", "300"]), id]).code).toBe(0);
    try {
      // Whatever the runtime holds open while the child sets up (a cgroup directory among them), none is a way out.
      const escaped: string[] = [];
      let caught = 0;
      for (let n = 3; n < 64; n++) {
        const r = sb.bunc(["exec", "--cwd", `/proc/self/fd/${n}`, id, "sh", "-c", "ls .. | head -3"]);
        if (r.code === 0) escaped.push(`fd ${n}: ${r.stdout.replaceAll("\n", " ")}`);
        if (r.stderr.includes("current working directory is outside of container mount namespace root -- possible container breakout detected")) caught++;
      }
      expect(escaped).toEqual([]);
      expect(caught, "no fd of the runtime's was a directory: the check was not exercised").toBeGreaterThan(0);
    } finally {
      sb.bunc(["delete", "-f", id]);
    }
  });

  test("while a container waits for start, its process (the bunc image) cannot be opened through /proc/PID/exe", () => {
    const id = sb.id();
    const bundle = sb.bundle(["sleep", "60"], (c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "pid")));
    expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
    const pid = sb.state(id).pid;
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toContain("State:\tS");
    // A process in the container (root, its default capabilities) tries to reach the waiting one.
    const probe = sb.bundle(["sh", "-c", `cat /proc/${pid}/exe > /dev/null 2>&1 && echo readable; readlink /proc/${pid}/exe || echo hidden; echo x >> /proc/${pid}/exe 2>/dev/null && echo WRITABLE; echo done`], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "pid");
    });
    const r = sb.bunc(["run", "-b", probe, sb.id()]);
    expect(r.stdout, show(r)).toBe("hidden\ndone\n");
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/State:\tS/);
  });

  /**
   * A process in the container's PID namespace (another container joining it,
   * in a cgroup of its own) lists every process it can see: its comm, where
   * /proc/PID/exe leads, whether it opens for reading or writing. The
   * executor (the bunc image until execve) must be seen — so the window is
   * really observed — and unreachable.
   */
  const observe = (pid: number) => {
    const script = [
      "for d in /proc/[0-9]*; do",
      "  p=${d#/proc/}; [ $p = $$ ] && continue",
      '  echo "$(cat $d/comm) $(readlink $d/exe || echo hidden)$(cat $d/exe >/dev/null 2>&1 && echo " readable")$( (echo x >> $d/exe) 2>/dev/null && echo " WRITABLE")"',
      "done 2>/dev/null | sort",
    ].join("\n");
    const r = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", script], (c) => setNamespace(c, "pid", `/proc/${pid}/ns/pid`)), sb.id()]);
    expect(r.code, show(r)).toBe(0);
    return r.stdout.trim().split("\n");
  };

  test("during exec: the exec'd process, frozen before execve (exec --ignore-paused), cannot be reached through /proc/PID/exe", () => {
    const c = startLong(sb);
    try {
      expect(sb.bunc(["pause", c.id]).code).toBe(0);
      const pidFile = `${sb.dir}/exec-${c.id}.pid`;
      const e = sb.bunc(["exec", "-d", "--ignore-paused", "--pid-file", pidFile, c.id, "sleep", "1"]);
      expect(e.code, show(e)).toBe(0);
      const execPid = Number(readFileSync(pidFile, "utf8"));
      // The precondition, seen from the host: the process is still the bunc image.
      expect(readlinkSync(`/proc/${execPid}/exe`)).toBe(BUNC);
      const seen = observe(c.pid);
      expect(seen).toContain("bunc hidden");
      expect(seen.filter((l) => l.startsWith("bunc"))).toEqual(["bunc hidden"]);
      expect(seen.join("\n")).not.toContain("WRITABLE");
      expect(sb.bunc(["resume", c.id]).code).toBe(0);
    } finally {
      stopLong(sb, c);
    }
  });

  test("during start: the container's process, running a startContainer hook before execve, cannot be reached through /proc/PID/exe", () => {
    const id = sb.id();
    // The hook (in the container) waits for a file the test makes once it has looked.
    const bundle = sb.bundle(["sleep", "60"], (c) => {
      c.root.readonly = false;
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "while [ ! -e /go ]; do sleep 0.05; done"] }] };
    });
    expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
    const pid = sb.state(id).pid;
    try {
      expect(sb.bunc(["start", id]).code).toBe(0);
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(BUNC);
      const seen = observe(pid);
      expect(seen).toContain("bunc hidden");
      expect(seen.filter((l) => l.startsWith("bunc"))).toEqual(["bunc hidden"]);
      expect(seen.join("\n")).not.toContain("WRITABLE");
    } finally {
      writeFileSync(`${bundle}/rootfs/go`, "");
      sb.bunc(["delete", "-f", id]);
    }
  });

  test("a capability this kernel lacks is dropped with a warning", () => {
    // Every name bunc knows exists on this kernel; the dropping is unit-tested with a smaller cap_last_cap.
    const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    const r = buncRun(sb, "grep CapBnd /proc/self/status", (c) => (c.process.capabilities.bounding = ["CAP_CHECKPOINT_RESTORE"]));
    expect(r.code, show(r)).toBe(0);
    if (last >= 40) expect(r.stderr).toBe("");
    else expect(r.stderr).toContain("CAP_CHECKPOINT_RESTORE is unknown to this kernel");
  });

  test("an unknown capability name is one clear error", () => {
    const id = sb.id();
    const r = sb.bunc(["run", "-b", sb.bundle(["true"], (c) => (c.process.capabilities.bounding = ["CAP_NOPE"])), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('bunc: unknown capability "CAP_NOPE" in process.capabilities.bounding\n');
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
  });

  test("personality LINUX32, ioPriority and scheduler reach the process", () => {
    const r = both(sb, "uname -m; cat /proc/self/stat | cut -d' ' -f19", (c) => {
      c.linux.personality = { domain: "LINUX32" };
      c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 6 };
      c.process.scheduler = { policy: "SCHED_BATCH", nice: 5 };
    });
    expect(r.bunc.stdout, r.why).toBe("i686\n5\n");
  });
});

describe.skipIf(!!skip || !existsSync("/proc/self/numa_maps"))("linux.memoryPolicy (runc 1.1.5 does not know it: no comparison)", () => {
  const withPolicy = (policy: Record<string, unknown>): Edit => (c) => (c.linux.memoryPolicy = policy);
  const firstPolicy = "head -1 /proc/self/numa_maps | cut -d' ' -f2";

  test("set_mempolicy before execve: the process's mappings show the mode, nodes and flags", () => {
    for (const [policy, shown] of [
      [{ mode: "MPOL_BIND", nodes: "0" }, "bind:0"],
      [{ mode: "MPOL_INTERLEAVE", nodes: "0", flags: ["MPOL_F_STATIC_NODES"] }, "interleave=static:0"],
      [{ mode: "MPOL_PREFERRED", nodes: "0", flags: ["MPOL_F_RELATIVE_NODES"] }, "prefer=relative:0"],
      [{ mode: "MPOL_LOCAL" }, "local"],
    ] as const) {
      const r = buncRun(sb, firstPolicy, withPolicy(policy));
      expect(r.stdout, show(r)).toBe(`${shown}\n`);
    }
    const none = buncRun(sb, firstPolicy);
    expect(none.stdout, show(none)).toBe("default\n");
  });

  test("exec'd processes get the container's policy too (as runc's setns init)", () => {
    const c = startLong(sb, withPolicy({ mode: "MPOL_BIND", nodes: "0" }));
    try {
      const r = sb.bunc(["exec", c.id, "sh", "-c", firstPolicy]);
      expect(r.stdout, show(r)).toBe("bind:0\n");
    } finally {
      stopLong(sb, c);
    }
  });

  for (const [what, policy, msg] of [
    ["a node this host does not have", { mode: "MPOL_BIND", nodes: "63" }, "bunc: unable to start container process: set memory policy MPOL_BIND nodes 63: invalid argument\n"],
    ["MPOL_BIND without nodes", { mode: "MPOL_BIND" }, "bunc: config.json: linux.memoryPolicy: MPOL_BIND needs at least one node in nodes\n"],
    ["exclusive flags", { mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"] }, "bunc: config.json: linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other\n"],
  ] as const) {
    test(`bad input: ${what} is one clear error, nothing left behind`, () => {
      const id = sb.id();
      const r = sb.bunc(["run", "-b", sb.bundle(["true"], withPolicy(policy)), id]);
      expect(r.stderr).toBe(msg);
      expect(r.code).toBe(1);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    });
  }
});
