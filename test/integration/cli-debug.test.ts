/**
 * --debug and --log, beside runc: runc's tests/integration/debug.bats and the
 * "--debug exec" tests of exec.bats check these lines, and containerd's
 * shim reads the --log file (created even when nothing is logged).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { posix as path } from "node:path";
import { integrationSkipReason, RUNC, Sandbox, type Result } from "../harness";

const skip = integrationSkipReason() ?? (RUNC ? undefined : "runc is not installed");
if (skip) console.warn(`skipping --debug tests: ${skip}`);

type Tool = "bunc" | "runc";
const TOOLS: Tool[] = ["bunc", "runc"];

/** What debug.bats's check_debug and exec.bats's check_exec_debug look for. */
const INIT_LINES = ["nsexec container setup", "child process in init()", "init: closing the pipe to signal completion"];
const EXEC_LINES = ["nsexec container setup", "child process in init()", "setns_init: about to exec"];

describe.skipIf(!!skip)("--debug and --log, as runc", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());
  const bundle = sb.bundle(["echo", "Hello World"]);
  const run = (tool: Tool, args: string[]): Result => (tool === "bunc" ? sb.bunc(args, { cwd: bundle }) : sb.runc(args, { cwd: bundle }));
  let n = 0;
  const logFile = (tool: Tool) => path.join(sb.dir, `${tool}-${++n}.log`);

  for (const tool of TOOLS) {
    test(`${tool}: --debug run writes level=debug lines to stderr`, () => {
      const r = run(tool, ["--debug", "run", sb.id(tool)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Hello World");
      expect(r.stderr).toContain("level=debug");
      for (const line of INIT_LINES) expect(r.stderr).toContain(line);
    });

    for (const format of [undefined, "text", "json"] as const) {
      test(`${tool}: --log FILE${format ? ` --log-format ${format}` : ""} --debug run writes them to FILE only`, () => {
        const log = logFile(tool);
        const r = run(tool, ["--log", log, ...(format ? ["--log-format", format] : []), "--debug", "run", sb.id(tool)]);
        expect(r.code).toBe(0);
        expect(r.stderr).not.toContain("level=debug");
        expect(r.stderr).not.toContain('"level":"debug"');
        const text = readFileSync(log, "utf8");
        for (const line of INIT_LINES) expect(text).toContain(line);
        if (format === "json") {
          const entries = text.trim().split("\n").map((l) => JSON.parse(l));
          expect(entries.some((e) => e.level === "debug" && typeof e.msg === "string" && typeof e.time === "string")).toBe(true);
          expect(text).toContain('"level":"debug"');
        } else expect(text).toContain("level=debug");
      });
    }

    test(`${tool}: --debug exec, to stderr and to --log`, () => {
      const id = sb.id(tool);
      const b = sb.bundle(["sleep", "100"]);
      const r0 = tool === "bunc" ? sb.bunc(["run", "-d", "-b", b, id]) : sb.runc(["run", "-d", "-b", b, id]);
      expect(r0.code).toBe(0);
      const r = run(tool, ["--debug", "exec", id, "true"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("level=debug");
      for (const line of EXEC_LINES) expect(r.stderr).toContain(line);
      const log = logFile(tool);
      const r2 = run(tool, ["--debug", "--log", log, "exec", id, "true"]);
      expect(r2.code).toBe(0);
      expect(r2.stderr).not.toContain("level=debug");
      for (const line of EXEC_LINES) expect(readFileSync(log, "utf8")).toContain(line);
    });

    test(`${tool}: --log FILE is created even when nothing is logged; no debug lines without --debug`, () => {
      const log = logFile(tool);
      const r = run(tool, ["--log", log, "list"]);
      expect(r.code).toBe(0);
      expect(existsSync(log)).toBe(true);
      expect(statSync(log).size).toBe(0);
      const r2 = run(tool, ["--log", log, "run", sb.id(tool)]);
      expect(r2.code).toBe(0);
      expect(r2.stderr).not.toContain("level=debug");
      expect(readFileSync(log, "utf8")).toBe("");
    });

    test(`${tool}: a --log FILE that cannot be opened is the command's error`, () => {
      const log = path.join(sb.dir, "no-such-dir", "x.log");
      const r = run(tool, ["--log", log, "list"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`open ${log}: no such file or directory`);
    });
  }

  test("bunc's debug lines name each step: config, cgroup, namespaces, mounts, state", () => {
    const r = sb.bunc(["--debug", "run", sb.id("steps")], { cwd: bundle });
    expect(r.code).toBe(0);
    for (const step of ["config loaded: ", "cgroup made: ", "namespaces: ", "mounts planned: ", "state written: ", "process exited: "])
      expect(r.stderr).toContain(step);
    expect(r.stderr).toContain(`mount \\"proc\\" to \\"/proc\\"`);
  });
});
