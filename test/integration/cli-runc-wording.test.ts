/**
 * Errors in the words callers match. containerd's shim and podman look for
 * "does not exist" and "container not running"; runc's own integration
 * tests look for the strings below (tests/integration/*.bats:
 * `[[ "$output" == *"…"* ]]`). Each situation runs under bunc and runc on
 * the same kind of bundle, and both outputs must hold the same words in the
 * same order (bunc's detail may follow).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { integrationSkipReason, RUNC, Sandbox, type Result } from "../harness";
import { show } from "./container-helpers";

const skip = integrationSkipReason() ?? (RUNC ? undefined : "runc is not installed");
if (skip) console.warn(`skipping runc wording tests: ${skip}`);

type Tool = "bunc" | "runc";
type Config = Record<string, any>;
const V1 = existsSync("/sys/fs/cgroup/freezer");

/** bash's `[[ "$output" == *"a"*"b"* ]]`: the parts appear in this order. */
function globMatches(text: string, parts: string[]): boolean {
  let at = 0;
  for (const p of parts) {
    const i = text.indexOf(p, at);
    if (i < 0) return false;
    at = i + p.length;
  }
  return true;
}

describe.skipIf(!!skip)("error wording that runc's tests and clients match", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());
  const cmd = (tool: Tool, args: string[]): Result => (tool === "bunc" ? sb.bunc(args) : sb.runc(args));
  const output = (r: Result) => r.stdout + r.stderr;

  /** Run steps under each tool and check the failing step's output against the parts. */
  function both(what: string, step: (tool: Tool) => Result, parts: string[], code?: number): void {
    for (const tool of ["runc", "bunc"] as const) {
      const r = step(tool);
      expect(r.code, `${what} (${tool}): ${show(r)}`).not.toBe(0);
      if (code !== undefined) expect(r.code, `${what} (${tool}): ${show(r)}`).toBe(code);
      expect(globMatches(output(r), parts), `${what} (${tool}) should contain ${JSON.stringify(parts)}: ${show(r)}`).toBe(true);
    }
  }

  /** A running container of each tool (sleep), for the exec and kill cases. */
  function running(tool: Tool, edit?: (c: Config) => void): string {
    const id = sb.id(tool);
    const r = cmd(tool, ["run", "-d", "-b", sb.bundle(["sleep", "300"], edit), id]);
    expect(r.code, show(r)).toBe(0);
    return id;
  }

  function stopped(tool: Tool): string {
    const id = sb.id(tool);
    expect(cmd(tool, ["run", "-d", "-b", sb.bundle(["true"]), id]).code).toBe(0);
    for (let i = 0; i < 100 && !cmd(tool, ["state", id]).stdout.includes('"stopped"'); i++) Bun.sleepSync(20);
    return id;
  }

  test('an unknown container "does not exist" (state, kill, delete, start, pause, exec)', () => {
    for (const verb of [["state"], ["kill"], ["delete"], ["start"], ["pause"], ["exec"]])
      both(verb[0]!, (tool) => cmd(tool, [...verb, `nosuch-${tool}`, ...(verb[0] === "exec" ? ["true"] : [])]), ["does not exist"]);
  });

  test('kill and pause of a stopped container: "container not running"; exec: "cannot exec in a stopped container"', () => {
    const ids = { bunc: stopped("bunc"), runc: stopped("runc") };
    both("kill", (tool) => cmd(tool, ["kill", ids[tool], "KILL"]), ["container not running"]);
    both("pause", (tool) => cmd(tool, ["pause", ids[tool]]), ["container not running"]);
    both("exec", (tool) => cmd(tool, ["exec", ids[tool], "true"]), ["cannot exec in a stopped container"], 255);
  });

  test.skipIf(!V1 && !existsSync("/sys/fs/cgroup/cgroup.freeze"))('exec in a paused container: "cannot exec in a paused container" (cgroups.bats)', () => {
    const ids = { bunc: running("bunc"), runc: running("runc") };
    for (const tool of ["bunc", "runc"] as const) expect(cmd(tool, ["pause", ids[tool]]).code).toBe(0);
    both("exec", (tool) => cmd(tool, ["exec", ids[tool], "echo", "ok"]), ["cannot exec in a paused container"], 255);
    for (const tool of ["bunc", "runc"] as const) cmd(tool, ["resume", ids[tool]]);
  });

  test("exec --cgroup: a parent, a missing sub-cgroup, an unknown controller (exec.bats)", () => {
    const ids = { bunc: running("bunc"), runc: running("runc") };
    both("--cgroup ..", (tool) => cmd(tool, ["exec", "--cgroup", "..", ids[tool], "true"]), [" .. is not a sub cgroup path"]);
    both("--cgroup nonexistent", (tool) => cmd(tool, ["exec", "--cgroup", "nonexistent", ids[tool], "true"]), [" adding pid ", "/nonexistent/cgroup.procs: no such file "]);
    if (V1) {
      both("--cgroup cpu:nonexistent", (tool) => cmd(tool, ["exec", "--cgroup", "cpu:nonexistent", ids[tool], "true"]), [" adding pid ", "/nonexistent/cgroup.procs: no such file "]);
      both("--cgroup whaaat:/", (tool) => cmd(tool, ["exec", "--cgroup", "whaaat:/", ids[tool], "true"]), ["unknown controller "]);
    }
  });

  test.skipIf(!V1)('linux.resources.unified on cgroup v1: "invalid configuration" (cgroups.bats)', () => {
    both("unified on v1", (tool) => cmd(tool, ["run", "-d", "-b", sb.bundle(["true"], (c) => (c.linux.resources = { unified: { "memory.min": "131072" } })), sb.id(tool)]), ["invalid configuration"]);
  });

  test('a symlink where proc is mounted: "must be mounted on ordinary directory" (mask.bats)', () => {
    both("proc symlink", (tool) => {
      const bundle = sb.bundle(["true"]);
      rmSync(`${bundle}/rootfs/proc`, { recursive: true });
      symlinkSync("/symlink", `${bundle}/rootfs/proc`);
      try {
        return cmd(tool, ["run", "-d", "-b", bundle, sb.id(tool)]);
      } finally {
        rmSync(`${bundle}/rootfs/proc`);
        mkdirSync(`${bundle}/rootfs/proc`);
      }
    }, ["must be mounted on ordinary directory"]);
  });

  const notify = (names: string[]) => (c: Config) =>
    (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: `${sb.dir}/no-agent.sock`, architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names, action: "SCMP_ACT_NOTIFY" }] });

  test('SCMP_ACT_NOTIFY with no agent listening, and on write (seccomp-notify.bats)', () => {
    both("no agent", (tool) => cmd(tool, ["run", "-b", sb.bundle(["/bin/true"], notify(["mkdir"])), sb.id(tool)]), ["failed to connect with seccomp agent"]);
    both("notify write", (tool) => cmd(tool, ["run", "-b", sb.bundle(["/bin/true"], notify(["write"])), sb.id(tool)]), ["SCMP_ACT_NOTIFY cannot be used for the write syscall"]);
  });

  test('a startContainer hook that fails says why: "error running hook", "bad system call" (seccomp.bats), "exit status 3"', () => {
    const killed = (c: Config) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] };
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /dev/shm/foo"] }] };
    };
    both("startContainer killed", (tool) => cmd(tool, ["run", "-b", sb.bundle(["/bin/true"], killed), sb.id(tool)]), ["error running hook", "bad system call"]);
    const exits = (c: Config) => (c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "exit 3"] }] });
    both("startContainer exit 3", (tool) => cmd(tool, ["run", "-b", sb.bundle(["/bin/true"], exits), sb.id(tool)]), ["error running hook", "exit status 3"]);
  });

  test('create of an id in use: "already exists"', () => {
    const ids = { bunc: running("bunc"), runc: running("runc") };
    both("duplicate id", (tool) => cmd(tool, ["create", "-b", sb.bundle(["true"]), ids[tool]]), ["already exists"]);
  });
});
