/**
 * process.terminal: the pty master sent over --console-socket (create/start
 * and exec -t), driven by a receiver in the test suite; a foreground exec -t
 * whose stdin is a pipe; and the bad-input paths (no console socket, a
 * socket path that does not exist or refuses), which leave nothing behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { mapUsers, openSandboxForUserns, setNamespace, show, startLong, stopLong, userNamespaceSkipReason } from "./container-helpers";
import { buncAsync, FdReceiver, PYTHON } from "./exec-helpers";

const skip = integrationSkipReason() ?? (PYTHON ? undefined : "python3 is not installed (the console-socket receiver)");
if (skip) console.warn(`skipping terminal console tests: ${skip}`);

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

  test("exec -t in the foreground with a piped stdin: output comes back, stdin's end ends the shell", () => {
    const c = startLong(sb);
    try {
      const res = sb.bunc(["exec", "-t", c.id, "sh"], { stdin: "echo hi-from-$((40+2))\necho second\n", timeoutMs: 15_000 });
      expect(res.code, show(res)).toBe(0);
      // bunc relays the terminal: ONLCR is off, as runc's tty makes it.
      expect(res.stdout).toContain("hi-from-42\n");
      expect(res.stdout).not.toContain("\r\n");
      expect(res.stdout).toContain("second\n");
      const quick = sb.bunc(["exec", "-t", c.id, "sh", "-c", "echo last-words; exit 5"], { stdin: "" });
      expect(quick.code, show(quick)).toBe(5);
      expect(quick.stdout).toBe("last-words\n");
    } finally {
      stopLong(sb, c);
    }
  });

  test("run in the foreground with a piped stdin and terminal: true", () => {
    const res = sb.bunc(["run", "-b", sb.bundle(["sh"], tty), sb.id("piped")], { stdin: "stty size\nexit 6\n", timeoutMs: 15_000 });
    expect(res.code, show(res)).toBe(6);
    expect(res.stdout).toContain("30 100\n");
    expect(res.stdout).not.toContain("\r");
  });

  // The pty's termios as the container sees it, under bunc and (where script(1) gives it a terminal) runc.
  const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p));
  test("run -t and exec -t in the foreground: ONLCR is off on the container's terminal, as under runc", () => {
    const probe = "stty -a -F $(readlink /proc/self/fd/0) 2>/dev/null | grep -o '.onlcr'";
    const run = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", probe], tty), sb.id("onlcr")], { stdin: "" });
    expect(run.stdout, show(run)).toBe("-onlcr\n");
    const c = startLong(sb);
    try {
      const ex = sb.bunc(["exec", "-t", c.id, "sh", "-c", probe], { stdin: "" });
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

  test("terminal: true without a console socket: create and run -d refuse, nothing left", () => {
    for (const verb of [["create"], ["run", "-d"]]) {
      const id = sb.id("noconsole");
      const res = sb.bunc([...verb, "-b", sb.bundle(["sh"], tty), id]);
      expect(res.code, show(res)).toBe(1);
      expect(res.stderr).toContain("console socket");
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
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
