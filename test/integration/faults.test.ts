/**
 * Faults (issue 14): bunc SIGKILLed at chosen points of create, start and
 * delete — strace's fault injection (`-e inject=SYSCALL:signal=SIGKILL:when=N`)
 * kills it as it enters the Nth call of a syscall, so no test hook lives in
 * bunc. Afterwards `list` still answers and tells a status, `delete -f`
 * removes everything (state dir, cgroups, processes, mounts), and a
 * container whose creator died before create finished does not live on.
 * Also: the container's init killed from outside, a corrupted state.json,
 * and a --root on a full filesystem.
 *
 * The points, as the syscalls a create makes in order (strace of dist/bunc
 * create): mkdir #2 is the container's state dir (#1 the --root), rename #1
 * the crash record of the cgroup directories (cgroup.json), mkdir #5 is in
 * the middle of making the cgroup directories, clone3 #2 the container's
 * process (#1 is a thread of Bun's), rename #2 state.json.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";
import { cgroupDirsOf, leftovers, processesOf } from "./cli-helpers";

const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));
const skip = integrationSkipReason() ?? (STRACE ? undefined : "strace is not installed (its fault injection kills bunc at chosen syscalls)");
if (skip) console.warn(`skipping the fault tests: ${skip}`);

describe.skipIf(!!skip)("faults", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  /** bunc ARGS under strace, SIGKILLed as it enters the when-th call of syscall. */
  function killedAt(syscall: string, when: number, args: string[]) {
    return sh([STRACE!, "-qq", "-o", "/dev/null", "-e", `trace=${syscall}`, "-e", `inject=${syscall}:signal=SIGKILL:when=${when}`, BUNC, "--root", sb.root, ...args]);
  }

  /** After a fault: list answers and shows the id with a status (or not at all), delete -f leaves nothing. */
  function recovers(id: string, bundle: string): void {
    const list = sb.bunc(["list", "-f", "json"]);
    expect(list.code, list.stderr).toBe(0);
    const entry = ((JSON.parse(list.stdout) ?? []) as { id: string; status: string }[]).find((c) => c.id === id);
    if (entry) expect(["creating", "created", "running", "stopped"]).toContain(entry.status);
    const del = sb.bunc(["delete", "-f", id]);
    expect(del.code, del.stderr).toBe(0);
    expect(leftovers(sb, id, bundle)).toEqual([]);
  }

  const createPoints: [string, string, number][] = [
    ["the state dir is made", "mkdir", 2],
    ["the cgroup record is written", "rename", 1],
    ["the cgroup directories are half made", "mkdir", 5],
    ["the container's process is cloned", "clone3", 2],
    ["state.json is written", "rename", 2],
  ];
  for (const [what, syscall, when] of createPoints)
    test(`create killed as ${what} (${syscall} #${when}): list tells a status, delete -f removes everything`, () => {
      const id = sb.id("fault");
      const bundle = sb.bundle(["sleep", "60"]);
      const r = killedAt(syscall, when, ["create", "-b", bundle, id]);
      expect(r.code).toBe(137);
      // The container's process must not outlive a creator that died before create finished.
      const end = Date.now() + 3000;
      while (processesOf({ id, rootfs: path.join(bundle, "rootfs") }).length > 0 && Date.now() < end) Bun.sleepSync(50);
      expect(processesOf({ id, rootfs: path.join(bundle, "rootfs") })).toEqual([]);
      recovers(id, bundle);
    });

  test("start killed as it opens the exec FIFO: the container is created or running, delete -f removes everything", () => {
    const id = sb.id("fault");
    const bundle = sb.bundle(["sleep", "60"]);
    expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
    const r = sh([STRACE!, "-qq", "-o", "/dev/null", "-e", "trace=openat", "-e", "inject=openat:signal=SIGKILL:when=1+", "-P", path.join(sb.root, id, "exec.fifo"), BUNC, "--root", sb.root, "start", id]);
    expect(r.code).toBe(137);
    expect(["created", "running"]).toContain(sb.state(id).status);
    recovers(id, bundle);
  });

  for (const [what, syscall] of [["removing the cgroup directories", "rmdir"], ["removing the state dir", "unlinkat"]] as const)
    test(`delete -f killed while ${what}: a second delete -f finishes the job`, () => {
      const id = sb.id("fault");
      const bundle = sb.bundle(["sleep", "60"]);
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const r = killedAt(syscall, 1, ["delete", "-f", id]);
      expect(r.code).toBe(137);
      recovers(id, bundle);
    });

  /**
   * Which call of syscall (1-based, counted as strace -e inject counts: the calls of bunc's
   * main thread) is the first after the clone3 of exec's process, in a run of bunc ARGS that is
   * not killed; after=false: the clone3 itself (as syscall "clone3").
   */
  function callAfterClone(args: string[], syscall: string): number {
    const log = path.join(sb.dir, `trace-${Date.now()}`);
    const r = sh([STRACE!, "-qq", "-o", log, "-e", `trace=clone3,${syscall}`, BUNC, "--root", sb.root, ...args]);
    expect(r.code, r.stderr).toBe(0);
    const calls = readFileSync(log, "utf8").split("\n").filter((l) => /^[a-z0-9_]+\(/.test(l));
    const clone = calls.findIndex((l) => l.startsWith("clone3(") && l.includes("CLONE_PIDFD"));
    expect(clone, "exec's clone3 in the trace").toBeGreaterThanOrEqual(0);
    const nth = (upTo: number) => calls.slice(0, upTo + 1).filter((l) => l.startsWith(`${syscall}(`)).length;
    return syscall === "clone3" ? nth(clone) : nth(clone) + 1;
  }

  /** What is in the container's cgroups but not in its namespaces: a half-set-up exec left outside. */
  function outsiders(id: string, initPid: number): string[] {
    const ns = (pid: number | string, kind: string) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/${kind}`);
      } catch {
        return "gone";
      }
    };
    const out: string[] = [];
    for (const dir of cgroupDirsOf(id))
      for (const pid of readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean))
        for (const kind of ["pid", "mnt"])
          if (ns(pid, kind) !== "gone" && ns(pid, kind) !== ns(initPid, kind)) out.push(`pid ${pid} in ${dir}, not in the container's ${kind} namespace`);
    return [...new Set(out)];
  }

  /** After exec was killed: no executor of it lingers, inside or out, the container runs and takes another exec, delete -f removes everything. */
  function stillConsistent(id: string, bundle: string): void {
    const init = sb.state(id).pid as number;
    const strays = () => [...processesOf({ id }), ...outsiders(id, init)];
    const end = Date.now() + 3000;
    while (strays().length > 0 && Date.now() < end) Bun.sleepSync(50);
    expect(strays()).toEqual([]);
    expect(sb.state(id).status).toBe("running");
    const again = sb.bunc(["exec", id, "echo", "again"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("again\n");
    recovers(id, bundle);
  }

  const execPoints: [string, string, "before" | "at" | "after"][] = [
    ["before the clone (the container's init opened)", "pidfd_open", "before"],
    ["at the clone of its process", "clone3", "at"],
    ["after the clone, its process waiting for the reply to its setup request", "write", "after"],
    ["after its process joined the namespaces and cgroup and reported ready, before its pid is known to the caller", "pidfd_open", "after"],
  ];
  for (const detach of [false, true])
    for (const [what, syscall, where] of execPoints)
      test(`exec${detach ? " -d --pid-file" : ""} killed ${what}: the container stays consistent, exec works again, delete -f removes everything`, () => {
        const id = sb.id("fault");
        const bundle = sb.bundle(["sleep", "60"]);
        expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
        const args = ["exec", ...(detach ? ["-d", "--pid-file", path.join(sb.dir, `${id}.pid`), id, "sleep", "30"] : [id, "true"])];
        const when = where === "before" ? 1 : callAfterClone(args, syscall);
        if (detach && where !== "before") expect(existsSync(path.join(sb.dir, `${id}.pid`))).toBe(true);
        // The detached run that counted left its exec'd process: it goes with delete -f as the others.
        const r = killedAt(syscall, when, args);
        expect(r.code, `${syscall} #${when}: ${r.stderr}`).toBe(137);
        stillConsistent(id, bundle);
      });

  for (const [what, syscall] of [["as it opens the pid file's temp file", "openat"], ["as it renames the pid file into place", "rename"]] as const)
    test(`exec -d --pid-file killed ${what}: no pid file or a whole one, the container stays consistent`, () => {
      const id = sb.id("fault");
      const bundle = sb.bundle(["sleep", "60"]);
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const pidFile = path.join(sb.dir, `${id}.pid`);
      const tmp = path.join(sb.dir, `.${id}.pid`);
      const r = sh([STRACE!, "-qq", "-o", "/dev/null", "-e", `trace=${syscall}`, "-e", `inject=${syscall}:signal=SIGKILL:when=1`, "-P", tmp, BUNC, "--root", sb.root, "exec", "-d", "--pid-file", pidFile, id, "sleep", "30"]);
      expect(r.code, r.stderr).toBe(137);
      // The pid file is written aside and renamed into place (as runc's): it never holds half a pid.
      expect(existsSync(pidFile)).toBe(false);
      stillConsistent(id, bundle);
    });

  test("the init killed from outside: state says stopped, delete removes it", () => {
    const id = sb.id("fault");
    const bundle = sb.bundle(["sleep", "60"]);
    expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
    process.kill(sb.state(id).pid, "SIGKILL");
    const end = Date.now() + 3000;
    while (sb.state(id).status !== "stopped" && Date.now() < end) Bun.sleepSync(25);
    expect(sb.state(id).status).toBe("stopped");
    expect(sb.bunc(["delete", id]).code).toBe(0);
    expect(leftovers(sb, id, bundle)).toEqual([]);
  });

  for (const [what, content] of [["truncated", '{"id":"x","pid":'], ["not JSON", "\0\0garbage"], ["empty", ""]] as const)
    test(`a ${what} state.json: one clear error from state, and delete -f still cleans up`, () => {
      const id = sb.id("fault");
      const bundle = sb.bundle(["sleep", "60"]);
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const pid = sb.state(id).pid as number;
      writeFileSync(path.join(sb.root, id, "state.json"), content);
      const st = sb.bunc(["state", id]);
      expect(st.code).toBe(1);
      expect(st.stderr.trim().split("\n")).toHaveLength(1);
      expect(st.stderr).toStartWith(`bunc: state of container ${id} is corrupted (`);
      expect(sb.bunc(["list"]).code).toBe(0);
      const del = sb.bunc(["delete", "-f", id]);
      expect(del.code, del.stderr).toBe(0);
      expect(existsSync(path.join(sb.root, id))).toBe(false);
      // Its record is unreadable, so delete -f reaches the process through the container's
      // cgroup (the default cgroupsPath is the id); a killed process takes a moment to go.
      const end = Date.now() + 3000;
      while (leftovers(sb, id, bundle).length > 0 && Date.now() < end) Bun.sleepSync(50);
      expect(existsSync(`/proc/${pid}/cmdline`) && Bun.spawnSync(["cat", `/proc/${pid}/cmdline`]).stdout.toString().includes("sleep")).toBe(false);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

  test("--root on a full filesystem: one clear error, nothing half-written", () => {
    const full = path.join(sb.dir, "full");
    mkdirSync(full);
    expect(sh(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", full]).code).toBe(0);
    try {
      sh(["dd", "if=/dev/zero", `of=${full}/fill`, "bs=4k", "count=64"]);
      const id = sb.id("fault");
      const bundle = sb.bundle(["sleep", "60"]);
      const r = sh([BUNC, "--root", `${full}/root`, "create", "-b", bundle, id]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^bunc: .*(no space left on device|ENOSPC)/i);
      expect(readdirSync(`${full}/root`).filter((n) => n !== ".lock" && n !== "fill")).toEqual([]);
      expect(cgroupDirsOf(id)).toEqual([]);
      expect(processesOf({ id, rootfs: path.join(bundle, "rootfs") })).toEqual([]);
    } finally {
      sh(["umount", full]);
    }
  });
});
