/**
 * process.terminal: the pty master sent over --console-socket (create/start
 * and exec -t), driven by a receiver in the test suite; a foreground exec -t
 * whose stdin is a pipe; and the bad-input paths (no console socket, a
 * socket path that does not exist or refuses), which leave nothing behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh, type Result } from "../harness";
import { mapUsers, openSandboxForUserns, setNamespace, show, startLong, stopLong, userNamespaceSkipReason } from "./container-helpers";
import { buncAsync, FdReceiver, PYTHON } from "./exec-helpers";

const skip = integrationSkipReason() ?? (PYTHON ? undefined : "python3 is not installed (the console-socket receiver)");
if (skip) console.warn(`skipping terminal console tests: ${skip}`);

const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p));

/**
 * Run a runtime with stdin, stdout and stderr redirected to files but with a
 * controlling terminal (script(1) gives it one), as from an interactive
 * shell with `< in > out`: runc and bunc then reach the terminal through /dev/tty.
 */
function withControllingTerminal(sb: Sandbox, tool: "bunc" | "runc", args: string[], stdin: string): Result {
  const base = `${sb.dir}/ctty-${Math.random().toString(36).slice(2)}`;
  writeFileSync(`${base}.in`, stdin);
  const q = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
  const argv = tool === "bunc" ? [BUNC, "--root", sb.root, ...args] : [RUNC!, "--root", `${sb.dir}/runc-state`, ...args];
  const cmd = `${argv.map(q).join(" ")} < ${base}.in > ${base}.out 2> ${base}.err; echo $? > ${base}.rc`;
  sh([SCRIPT!, "-qec", cmd, "/dev/null"], { timeoutMs: 15_000 });
  const read = (ext: string) => (existsSync(`${base}.${ext}`) ? readFileSync(`${base}.${ext}`, "utf8") : "");
  return { code: Number(read("rc").trim() || 255), stdout: read("out"), stderr: read("err") };
}

/** Run a runtime in a session of its own (setsid(1)): no controlling terminal, whatever the test runner has. */
function withoutTerminal(sb: Sandbox, tool: "bunc" | "runc", args: string[], stdin: string): Result {
  const argv = tool === "bunc" ? [BUNC, "--root", sb.root, ...args] : [RUNC!, "--root", `${sb.dir}/runc-state`, ...args];
  return sh(["setsid", "-w", ...argv], { stdin });
}

const tty = (c: Record<string, any>) => {
  c.process.terminal = true;
  c.process.consoleSize = { height: 30, width: 100 };
};

describe.skipIf(!!skip)("terminal with a console socket", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("create sends the master once; start runs an interactive shell on it with consoleSize", async () => {
    const rx = await FdReceiver.start(sb.dir, "console", ["stty size", "tty", "ls -l /dev/console", "echo $TERM", "!exit 3"]);
    const id = sb.id("console");
    const created = await buncAsync(sb, ["create", "--console-socket", rx.socket, "-b", sb.bundle(["sh"], tty), id]);
    expect(created.code, show(created)).toBe(0);
    expect(sb.state(id).status).toBe("created");
    expect(sb.bunc(["start", id]).code).toBe(0);
    const got = await rx.result();
    expect(got?.name).toBe("/dev/ptmx");
    expect(got?.fds).toBe(1);
    const [size, name, consoleDev, term] = got?.outputs ?? [];
    expect(size).toBe("30 100");
    expect(name).toMatch(/^\/dev\/pts\/\d+$/);
    expect(consoleDev).toMatch(/^c.* 136,\s+\d+ .*\/dev\/console$/); // the pty slave is bound on /dev/console
    expect(term).toBe("xterm");
    for (let i = 0; i < 100 && sb.state(id).status !== "stopped"; i++) Bun.sleepSync(20);
    expect(sb.state(id).status).toBe("stopped");
  });

  test("exec -t --console-socket: a shell on a new pty sized by the config's consoleSize, its exit status returned", async () => {
    const c = startLong(sb, (cfg) => (cfg.process.consoleSize = { height: 24, width: 90 }));
    try {
      const rx = await FdReceiver.start(sb.dir, "console", ["tty", "stty size", "!exit 4"]);
      const res = await buncAsync(sb, ["exec", "-t", "--console-socket", rx.socket, c.id, "sh"]);
      expect(res.code, show(res)).toBe(4);
      const got = await rx.result();
      expect(got?.outputs?.[0]).toMatch(/^\/dev\/pts\/\d+$/);
      expect(got?.outputs?.[1]).toBe("24 90");
    } finally {
      stopLong(sb, c);
    }
  });

  test.skipIf(!SCRIPT)("exec -t in the foreground with stdin from a file, on a controlling terminal: output comes back, stdin's end ends the shell", () => {
    const c = startLong(sb);
    try {
      const res = withControllingTerminal(sb, "bunc", ["exec", "-t", c.id, "sh"], "echo hi-from-$((40+2))\necho second\n");
      expect(res.code, show(res)).toBe(0);
      // bunc relays the terminal: ONLCR is off, as runc's tty makes it (stdout is a file here).
      expect(res.stdout).toContain("hi-from-42\n");
      expect(res.stdout).not.toContain("\r\n");
      expect(res.stdout).toContain("second\n");
      const quick = withControllingTerminal(sb, "bunc", ["exec", "-t", c.id, "sh", "-c", "echo last-words; exit 5"], "");
      expect(quick.code, show(quick)).toBe(5);
      expect(quick.stdout).toBe("last-words\n");
    } finally {
      stopLong(sb, c);
    }
  });

  test.skipIf(!SCRIPT)("run in the foreground with stdin from a file, on a controlling terminal, and terminal: true", () => {
    const res = withControllingTerminal(sb, "bunc", ["run", "-b", sb.bundle(["sh"], tty), sb.id("piped")], "stty size\nexit 6\n");
    expect(res.code, show(res)).toBe(6);
    expect(res.stdout).toContain("30 100\n");
    expect(res.stdout).not.toContain("\r");
  });

  // The pty's termios as the container sees it, under bunc and (where script(1) gives it a terminal) runc.
  test.skipIf(!SCRIPT)("run -t and exec -t in the foreground: ONLCR is off on the container's terminal, as under runc", () => {
    const probe = "stty -a -F $(readlink /proc/self/fd/0) 2>/dev/null | grep -o '.onlcr'";
    // A foreground terminal needs a terminal of bunc's own (as runc): script(1) gives it one.
    const run = withControllingTerminal(sb, "bunc", ["run", "-b", sb.bundle(["sh", "-c", probe], tty), sb.id("onlcr")], "");
    expect(run.stdout, show(run)).toBe("-onlcr\n");
    const c = startLong(sb);
    try {
      const ex = withControllingTerminal(sb, "bunc", ["exec", "-t", c.id, "sh", "-c", probe], "");
      expect(ex.stdout, show(ex)).toBe("-onlcr\n");
      if (!RUNC || !SCRIPT) return console.warn("runc or script(1) is not installed: comparison skipped");
      // runc opens the caller's terminal: script(1) gives it one.
      const id = sb.id("onlcr-runc");
      const bundle = sb.bundle(["sleep", "300"]);
      writeFileSync(`${bundle}/rootfs/probe`, `#!/bin/sh\n${probe}\n`, { mode: 0o755 });
      expect(sb.runc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const r = sh([SCRIPT, "-qec", `${RUNC} --root ${sb.dir}/runc-state exec -t ${id} /probe`, "/dev/null"]);
      sb.runc(["delete", "-f", id]);
      expect(r.stdout, show(r)).toContain("-onlcr");
    } finally {
      stopLong(sb, c);
    }
  });

  /** `stat -c %u:%g` of the container's tty, the pty sent to a console socket (create/start, or exec -t). */
  const ttyOwner = async (tool: "bunc" | "runc", edit: (c: Record<string, any>) => void, exec = false): Promise<string | undefined> => {
    const rx = await FdReceiver.start(sb.dir, "console", ["stat -c %u:%g $(tty)", "!exit 0"]);
    const id = sb.id("owner");
    const run = async (args: string[]) => (tool === "bunc" ? await buncAsync(sb, args) : sb.runc(args));
    try {
      if (exec) {
        expect((await run(["run", "-d", "-b", sb.bundle(["sleep", "300"], edit), id])).code).toBe(0);
        // runc takes a console socket only with -d.
        const ex = run(["exec", ...(tool === "runc" ? ["-d"] : []), "-t", "--console-socket", rx.socket, id, "sh"]);
        const got = await rx.result();
        await ex;
        return got?.outputs?.[0];
      }
      const created = await run(["create", "--console-socket", rx.socket, "-b", sb.bundle(["sh"], (c) => (tty(c), edit(c))), id]);
      expect(created.code, show(created)).toBe(0);
      expect((await run(["start", id])).code).toBe(0);
      return (await rx.result())?.outputs?.[0];
    } finally {
      rx.stop();
      await run(["delete", "-f", id]);
    }
  };
  const user1000 = (c: Record<string, any>) => (c.process.user = { uid: 1000, gid: 100 });

  test("the pty belongs to the container's uid; its group stays devpts' gid=5 (runc's tty.bats \"tty owner\")", async () => {
    expect({ root: await ttyOwner("bunc", () => {}) }).toEqual({ root: "0:5" });
    expect({ create: await ttyOwner("bunc", user1000) }).toEqual({ create: "1000:5" });
    expect({ exec: await ttyOwner("bunc", user1000, true) }).toEqual({ exec: "1000:5" });
    if (!RUNC) return console.warn("runc is not installed: comparison skipped");
    expect({ runcCreate: await ttyOwner("runc", user1000) }).toEqual({ runcCreate: "1000:5" });
    expect({ runcExec: await ttyOwner("runc", user1000, true) }).toEqual({ runcExec: "1000:5" });
  });

  test.skipIf(!!userNamespaceSkipReason())("the pty belongs to the container's uid in a user namespace too", async () => {
    openSandboxForUserns(sb);
    const userns = (c: Record<string, any>) => {
      setNamespace(c, "user");
      mapUsers(c);
      user1000(c);
    };
    expect({ create: await ttyOwner("bunc", userns) }).toEqual({ create: "1000:5" });
    expect({ exec: await ttyOwner("bunc", userns, true) }).toEqual({ exec: "1000:5" });
    if (RUNC) expect({ runcCreate: await ttyOwner("runc", userns) }).toEqual({ runcCreate: "1000:5" });
    if (RUNC) expect({ runcExec: await ttyOwner("runc", userns, true) }).toEqual({ runcExec: "1000:5" });
  });

  test("terminal: true in the foreground with no terminal at all (stdin a pipe, no controlling tty): run and exec -t refuse as runc, nothing left", () => {
    for (const tool of RUNC ? (["bunc", "runc"] as const) : (["bunc"] as const)) {
      const id = sb.id(`notty-${tool}`);
      const args = ["run", "-b", sb.bundle(["sh"], tty), id];
      const res = withoutTerminal(sb, tool, args, "exit 6\n");
      expect(res.code, `${tool}: ${show(res)}`).toBe(1);
      expect(res.stderr, tool).toContain("open /dev/tty: no such device or address");
      expect(existsSync(`${tool === "bunc" ? sb.root : `${sb.dir}/runc-state`}/${id}`), tool).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/pids/${id}`), tool).toBe(false);
    }
    const c = startLong(sb);
    try {
      const ex = withoutTerminal(sb, "bunc", ["exec", "-t", c.id, "sh"], "exit 6\n");
      expect(ex.code, show(ex)).toBe(255);
      expect(ex.stderr).toContain("open /dev/tty: no such device or address");
      expect(ex.stderr).toContain("process.terminal is true, but bunc has no terminal");
    } finally {
      stopLong(sb, c);
    }
  });

  test("terminal: true without a console socket: create and run -d refuse in runc's words, nothing left", () => {
    for (const verb of [["create"], ["run", "-d"]]) {
      for (const tool of RUNC ? (["bunc", "runc"] as const) : (["bunc"] as const)) {
        const id = sb.id("noconsole");
        const args = [...verb, "-b", sb.bundle(["sh"], tty), id];
        const res = tool === "bunc" ? sb.bunc(args) : sb.runc(args);
        expect(res.code, `${tool}: ${show(res)}`).toBe(1);
        expect(res.stderr, tool).toMatch(/cannot allocate tty if (runc|bunc) will detach without setting console socket/);
        expect(existsSync(`${tool === "bunc" ? sb.root : `${sb.dir}/runc-state`}/${id}`), tool).toBe(false);
        expect(existsSync(`/sys/fs/cgroup/pids/${id}`), tool).toBe(false);
      }
    }
    const c = startLong(sb);
    try {
      const ex = sb.bunc(["exec", "-t", "-d", c.id, "sh"]);
      expect(ex.code, show(ex)).toBe(255);
      expect(ex.stderr).toContain("console socket");
    } finally {
      stopLong(sb, c);
    }
  });

  test("a console socket that does not exist or refuses: clear error, nothing left", () => {
    writeFileSync(`${sb.dir}/not-a-socket`, "");
    for (const [file, why] of [["no-such-socket", "no such file or directory"], ["not-a-socket", "connection refused"]] as const) {
      const id = sb.id("badconsole");
      const res = sb.bunc(["create", "--console-socket", `${sb.dir}/${file}`, "-b", sb.bundle(["sh"], tty), id]);
      expect(res.code, show(res)).toBe(1);
      expect(res.stderr).toContain(`connect to console socket ${sb.dir}/${file}: ${why}`);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
    }
  });
});
