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
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
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
