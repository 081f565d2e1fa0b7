/**
 * bunc next to runc on identical bundles: the same steps must give the same
 * statuses, exit codes and state/list shapes. Each runtime gets its own ids
 * (their default cgroup paths are the id, so a shared id would collide).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, RUNC, Sandbox, type Result } from "../harness";
import { keySkeleton, lines, tabwriterProblems, waitFile } from "./cli-helpers";

const skip = integrationSkipReason() ?? (RUNC ? undefined : "runc is not installed");
if (skip) console.warn(`skipping runc comparison tests: ${skip}`);

type Config = Record<string, any>;
type Tool = "bunc" | "runc";
const TOOLS: Tool[] = ["bunc", "runc"];

describe.skipIf(!!skip)("bunc and runc side by side", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  const exec = (tool: Tool, args: string[], opts: { cwd?: string } = {}): Result => (tool === "bunc" ? sb.bunc(args, opts) : sb.runc(args, opts));

  function stateOf(tool: Tool, id: string): { text: string; json: Record<string, any> } | undefined {
    const r = exec(tool, ["state", id]);
    return r.code === 0 ? { text: r.stdout, json: JSON.parse(r.stdout) } : undefined;
  }

  function waitFor(tool: Tool, id: string, status: string, timeoutMs = 5000): void {
    const end = Date.now() + timeoutMs;
    while (stateOf(tool, id)?.json.status !== status && Date.now() < end) Bun.sleepSync(25);
  }

  /** What one runtime did across a step-by-step lifecycle. */
  interface Trace {
    codes: Record<string, number>;
    statuses: string[];
    states: { text: string; json: Record<string, any> }[];
    ids: string[];
  }

  /** create → state → start → state → kill SIGNAL → state → delete → state, on bundle. */
  function lifecycle(tool: Tool, bundle: string, signal: string[]): Trace {
    const id = sb.id(tool);
    const trace: Trace = { codes: {}, statuses: [], states: [], ids: [id] };
    const record = () => {
      const s = stateOf(tool, id);
      if (s) trace.states.push(s);
      trace.statuses.push(s?.json.status ?? "(none)");
    };
    trace.codes.create = exec(tool, ["create", "-b", bundle, id]).code;
    record();
    trace.codes.start = exec(tool, ["start", id]).code;
    waitFor(tool, id, "running", 1000);
    record();
    trace.codes.kill = exec(tool, ["kill", id, ...signal]).code;
    waitFor(tool, id, "stopped");
    record();
    trace.codes.delete = exec(tool, ["delete", id]).code;
    trace.codes.stateAfterDelete = exec(tool, ["state", id]).code;
    return trace;
  }

  describe("the lifecycle step by step", () => {
    const cases: [string, string[], string[]][] = [
      ["sleep killed with KILL", ["sleep", "30"], ["KILL"]],
      ["a TERM trap, killed with the default signal", ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.05; done'], []],
      ["a TERM trap, killed with 15", ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.05; done'], ["15"]],
    ];
    for (const [name, args, signal] of cases) {
      test(`${name}: the same statuses, exit codes and state shapes`, () => {
        const bundle = sb.bundle(args);
        const bunc = lifecycle("bunc", bundle, signal);
        const runc = lifecycle("runc", bundle, signal);

        // runc is the reference: check it, then bunc against it.
        expect(runc.statuses).toEqual(["created", "running", "stopped"]);
        expect(bunc.statuses).toEqual(runc.statuses);
        expect(runc.codes).toEqual({ create: 0, start: 0, kill: 0, delete: 0, stateAfterDelete: 1 });
        expect(bunc.codes).toEqual(runc.codes);

        for (let i = 0; i < runc.states.length; i++) {
          const [b, r] = [bunc.states[i]!, runc.states[i]!];
          expect(Object.keys(b.json)).toEqual(Object.keys(r.json));
          expect(keySkeleton(b.text)).toEqual(keySkeleton(r.text));
          expect(b.text.endsWith("\n")).toBe(r.text.endsWith("\n"));
          expect({ ...b.json, ociVersion: "", id: "", pid: 0, created: "" }).toEqual({ ...r.json, ociVersion: "", id: "", pid: 0, created: "" });
          expect(b.json.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
          expect(r.json.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
          expect(typeof b.json.ociVersion).toBe("string");
        }
        // pid: a real pid while alive, 0 once stopped, in both.
        expect(bunc.states.map((s) => s.json.pid > 0)).toEqual([true, true, false]);
        expect(runc.states.map((s) => s.json.pid > 0)).toEqual([true, true, false]);
        expect(bunc.states[2]!.json.pid).toBe(0);
        expect(runc.states[2]!.json.pid).toBe(0);
        // The same process from created to running, in both.
        expect(bunc.states[1]!.json.pid).toBe(bunc.states[0]!.json.pid);
        expect(runc.states[1]!.json.pid).toBe(runc.states[0]!.json.pid);
      });
    }

    test("a created container killed before start: stopped, then start and delete behave the same", () => {
      const bundle = sb.bundle(["sleep", "30"]);
      const results = Object.fromEntries(
        TOOLS.map((tool) => {
          const id = sb.id(tool);
          const codes: number[] = [];
          codes.push(exec(tool, ["create", "-b", bundle, id]).code);
          codes.push(exec(tool, ["kill", id, "KILL"]).code);
          waitFor(tool, id, "stopped");
          const status = stateOf(tool, id)?.json.status;
          codes.push(exec(tool, ["start", id]).code);
          codes.push(exec(tool, ["delete", id]).code);
          return [tool, { codes, status }];
        }),
      );
      expect(results.runc).toEqual({ codes: [0, 0, 1, 0], status: "stopped" });
      expect(results.bunc).toEqual(results.runc);
    });

    test("run --keep: the exit code and the stopped state are the same", () => {
      const bundle = sb.bundle(["sh", "-c", "exit 7"]);
      const results = Object.fromEntries(
        TOOLS.map((tool) => {
          const id = sb.id(tool);
          const code = exec(tool, ["run", "--keep", "-b", bundle, id]).code;
          const s = stateOf(tool, id)!;
          const del = exec(tool, ["delete", id]).code;
          return [tool, { code, status: s.json.status, pid: s.json.pid, keys: Object.keys(s.json), del }];
        }),
      );
      expect(results.runc).toMatchObject({ code: 7, status: "stopped", pid: 0, del: 0 });
      expect(results.bunc).toEqual(results.runc);
    });
  });

  describe("list", () => {
    /** One fresh root per runtime, so that list shows only what the test put there. */
    function freshRoot(tool: Tool): (args: string[]) => Result {
      const root = path.join(sb.dir, `list-${tool}-${Math.random()}`);
      return (args) => (tool === "bunc" ? sb.bunc(["--root", root, ...args]) : sb.runc(["--root", root, ...args]));
    }

    test("empty: the same table header, json null and -q output", () => {
      const [b, r] = TOOLS.map(freshRoot) as [(a: string[]) => Result, (a: string[]) => Result];
      for (const args of [["list"], ["list", "-f", "json"], ["list", "--format", "json"], ["list", "-q"]]) {
        const [rb, rr] = [b(args), r(args)];
        expect({ args, code: rb.code, stdout: rb.stdout }).toEqual({ args, code: rr.code, stdout: rr.stdout });
      }
      expect(r(["list", "-f", "json"]).stdout).toBe("null\n");
    });

    test("one created container: the same json keys and owner, and the same table layout", () => {
      const bundle = sb.bundle(["sleep", "30"], (c: Config) => {
        c.annotations = { "org.example.k": "v" };
      });
      const out = Object.fromEntries(
        TOOLS.map((tool) => {
          const run = freshRoot(tool);
          const id = `${tool}-list-${process.pid}`;
          expect(run(["create", "-b", bundle, id]).code).toBe(0);
          const json = run(["list", "-f", "json"]);
          const table = run(["list"]);
          const quiet = run(["list", "-q"]).stdout;
          expect(run(["delete", "-f", id]).code).toBe(0);
          return [tool, { id, json, table, quiet }];
        }),
      );
      const [b, r] = [out.bunc!, out.runc!];
      expect(lines(b.json.stdout)).toHaveLength(1);
      expect(b.json.stdout.endsWith("\n")).toBe(r.json.stdout.endsWith("\n"));
      const [bj, rj] = [JSON.parse(b.json.stdout), JSON.parse(r.json.stdout)];
      expect(bj).toHaveLength(1);
      expect(rj).toHaveLength(1);
      expect(Object.keys(bj[0])).toEqual(Object.keys(rj[0]));
      expect(bj[0].owner).toBe(rj[0].owner);
      expect(bj[0].annotations).toEqual(rj[0].annotations);
      expect(bj[0].status).toBe(rj[0].status);
      expect(tabwriterProblems(r.table.stdout)).toEqual([]);
      expect(tabwriterProblems(b.table.stdout)).toEqual([]);
      expect(lines(b.table.stdout)[0]!.split(/ +/)).toEqual(lines(r.table.stdout)[0]!.split(/ +/));
      expect(b.quiet).toBe(`${b.id}\n`);
      expect(r.quiet).toBe(`${r.id}\n`);
    });
  });

  describe("state JSON with annotations", () => {
    test("the same keys in the same order, annotations included", () => {
      const bundle = sb.bundle(["sleep", "30"], (c: Config) => {
        c.annotations = { "z.last": "1", "a.first": "2", "m.middle": "3" };
      });
      const states = Object.fromEntries(
        TOOLS.map((tool) => {
          const id = sb.id(tool);
          expect(exec(tool, ["create", "-b", bundle, id]).code).toBe(0);
          const s = stateOf(tool, id)!;
          exec(tool, ["delete", "-f", id]);
          return [tool, s];
        }),
      );
      const [b, r] = [states.bunc!, states.runc!];
      expect(keySkeleton(b.text)).toEqual(keySkeleton(r.text));
      expect(Object.keys(b.json.annotations)).toEqual(Object.keys(r.json.annotations));
    });
  });

  describe("exit codes of the bad cases both runtimes share", () => {
    /** A case sets up what it needs with one runtime and returns the result of the command under test. */
    type Case = [string, expected: number, (tool: Tool, id: string) => Result];

    const created = (tool: Tool, id: string, args = ["sleep", "30"]) => {
      expect(exec(tool, ["create", "-b", sb.bundle(args), id]).code).toBe(0);
    };
    const running = (tool: Tool, id: string) => {
      expect(exec(tool, ["run", "-d", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
    };
    const stopped = (tool: Tool, id: string) => {
      expect(exec(tool, ["run", "--keep", "-b", sb.bundle(["true"]), id]).code).toBe(0);
    };
    const broken = (edit: (c: Config, bundle: string) => void) => {
      const bundle = sb.bundle(["true"]);
      const file = path.join(bundle, "config.json");
      const config = JSON.parse(readFileSync(file, "utf8"));
      edit(config, bundle);
      writeFileSync(file, JSON.stringify(config));
      return bundle;
    };

    const cases: Case[] = [
      ["state of an unknown container", 1, (t, id) => exec(t, ["state", id])],
      ["start of an unknown container", 1, (t, id) => exec(t, ["start", id])],
      ["kill of an unknown container", 1, (t, id) => exec(t, ["kill", id, "KILL"])],
      ["delete of an unknown container", 1, (t, id) => exec(t, ["delete", id])],
      ["delete -f of an unknown container", 0, (t, id) => exec(t, ["delete", "-f", id])],
      ["create with a duplicate id", 1, (t, id) => (created(t, id), exec(t, ["create", "-b", sb.bundle(["true"]), id]))],
      ["run with a duplicate id", 1, (t, id) => (created(t, id), exec(t, ["run", "-b", sb.bundle(["true"]), id]))],
      ["create with the id a/b", 1, (t, id) => exec(t, ["create", "-b", sb.bundle(["true"]), `${id}/b`])],
      ["create with the id ..", 1, (t) => exec(t, ["create", "-b", sb.bundle(["true"]), ".."])],
      ["create with the id ../x", 1, (t, id) => exec(t, ["create", "-b", sb.bundle(["true"]), `../${id}`])],
      ["state of the id a/b", 1, (t) => exec(t, ["state", "a/b"])],
      ["delete -f of the id a/b", 1, (t) => exec(t, ["delete", "-f", "a/b"])],
      ["kill with an unknown signal", 1, (t, id) => (created(t, id), exec(t, ["kill", id, "FOO"]))],
      ["kill with signal 0 of a running container", 0, (t, id) => (running(t, id), exec(t, ["kill", id, "0"]))],
      ["start of a running container", 1, (t, id) => (running(t, id), exec(t, ["start", id]))],
      ["start of a stopped container", 1, (t, id) => (stopped(t, id), exec(t, ["start", id]))],
      ["delete of a running container without -f", 1, (t, id) => (running(t, id), exec(t, ["delete", id]))],
      ["delete of a created container without -f", 0, (t, id) => (created(t, id), exec(t, ["delete", id]))],
      ["kill of a stopped container", 1, (t, id) => (stopped(t, id), exec(t, ["kill", id, "KILL"]))],
      ["kill --all of a stopped container", 0, (t, id) => (stopped(t, id), exec(t, ["kill", "--all", id, "KILL"]))],
      [
        "create without config.json",
        1,
        (t, id) => {
          const b = sb.bundle(["true"]);
          rmSync(path.join(b, "config.json"));
          return exec(t, ["create", "-b", b, id]);
        },
      ],
      [
        "create with invalid JSON",
        1,
        (t, id) => {
          const b = sb.bundle(["true"]);
          writeFileSync(path.join(b, "config.json"), "{bad");
          return exec(t, ["create", "-b", b, id]);
        },
      ],
      [
        "create with config.json a directory",
        1,
        (t, id) => {
          const b = sb.bundle(["true"]);
          rmSync(path.join(b, "config.json"));
          mkdirSync(path.join(b, "config.json"));
          return exec(t, ["create", "-b", b, id]);
        },
      ],
      ["create with a missing bundle", 1, (t, id) => exec(t, ["create", "-b", path.join(sb.dir, "nowhere"), id])],
      ["create with a missing rootfs", 1, (t, id) => exec(t, ["create", "-b", broken((c) => (c.root.path = "nosuchroot")), id])],
      ["create with process.args a string", 1, (t, id) => exec(t, ["create", "-b", broken((c) => (c.process.args = "sh")), id])],
      ["create with an unknown namespace", 1, (t, id) => exec(t, ["create", "-b", broken((c) => c.linux.namespaces.push({ type: "bogusns" })), id])],
      ["create with args[0] missing from the rootfs", 1, (t, id) => exec(t, ["create", "-b", sb.bundle(["nosuch"]), id])],
      ["run with args[0] missing from the rootfs", 1, (t, id) => exec(t, ["run", "-b", sb.bundle(["nosuch"]), id])],
      ["create of a terminal process without --console-socket", 1, (t, id) => exec(t, ["create", "-b", broken((c) => (c.process.terminal = true)), id])],
      ["create --console-socket of a process without a terminal", 1, (t, id) => exec(t, ["create", "--console-socket", path.join(sb.dir, "c.sock"), "-b", sb.bundle(["true"]), id])],
      ["list -f bogus", 1, (t) => exec(t, ["list", "-f", "bogus"])],
      ["list with an argument", 1, (t) => exec(t, ["list", "extra"])],
      ["an unknown command", 3, (t) => exec(t, ["nosuchcmd"])],
      ["state without an id", 1, (t) => exec(t, ["state"])],
      ["an unknown global flag", 1, (t) => exec(t, ["--nosuchflag", "list"])],
      ["an unknown flag of a command", 1, (t, id) => exec(t, ["state", "--nosuchflag", id])],
      [
        "spec when config.json exists",
        1,
        (t) => {
          const dir = path.join(sb.dir, `spec-${t}-${Math.random()}`);
          mkdirSync(dir);
          writeFileSync(path.join(dir, "config.json"), "{}");
          return exec(t, ["spec"], { cwd: dir });
        },
      ],
      ["run exit code passthrough", 42, (t, id) => exec(t, ["run", "-b", sb.bundle(["sh", "-c", "exit 42"]), id])],
    ];

    for (const [name, expected, run] of cases) {
      test(`${name}: exit ${expected} in both`, () => {
        const codes = Object.fromEntries(TOOLS.map((tool) => [tool, run(tool, sb.id(tool)).code]));
        expect(codes).toEqual({ bunc: expected, runc: expected });
      });
    }

    for (const verb of ["create", "run", "run -d"]) {
      test(`a failed ${verb} with a duplicate id leaves the first container as it was, in both`, () => {
        const results = Object.fromEntries(
          TOOLS.map((tool) => {
            const id = sb.id(tool);
            created(tool, id);
            const before = stateOf(tool, id)?.json;
            const code = exec(tool, [...verb.split(" "), "-b", sb.bundle(["true"]), id]).code;
            const after = stateOf(tool, id)?.json;
            return [tool, { code, same: JSON.stringify(after) === JSON.stringify(before), status: after?.status }];
          }),
        );
        expect(results.runc).toEqual({ code: 1, same: true, status: "created" });
        expect(results.bunc).toEqual(results.runc);
      });
    }

    test("run killed with SIGKILL from outside: 137 in both", async () => {
      const codes: Record<string, number | string> = {};
      for (const tool of TOOLS) {
        const id = sb.id(tool);
        const out = path.join(sb.dir, `${id}.out`);
        const bundle = sb.bundle(["sh", "-c", "echo ready; sleep 30"]);
        const bin = tool === "bunc" ? [BUNC, "--root", sb.root] : [RUNC!, "--root", path.join(sb.dir, "runc-state")];
        const proc = Bun.spawn([...bin, "run", "-b", bundle, id], { stdout: Bun.file(out), stderr: "ignore" });
        try {
          waitFile(out, /ready/);
          exec(tool, ["kill", id, "KILL"]);
          codes[tool] = await Promise.race([proc.exited, new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 10_000))]);
        } finally {
          proc.kill("SIGKILL");
        }
      }
      expect(codes).toEqual({ bunc: 137, runc: 137 });
    });

    test("run forwards SIGTERM to the container's trap: the trap's exit code in both", async () => {
      const codes: Record<string, number | string> = {};
      for (const tool of TOOLS) {
        const id = sb.id(tool);
        const out = path.join(sb.dir, `${id}.out`);
        const bundle = sb.bundle(["sh", "-c", 'trap "exit 3" TERM; echo ready; while true; do sleep 0.1; done']);
        const bin = tool === "bunc" ? [BUNC, "--root", sb.root] : [RUNC!, "--root", path.join(sb.dir, "runc-state")];
        const proc = Bun.spawn([...bin, "run", "-b", bundle, id], { stdout: Bun.file(out), stderr: "ignore" });
        try {
          waitFile(out, /ready/);
          proc.kill("SIGTERM");
          codes[tool] = await Promise.race([proc.exited, new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 10_000))]);
        } finally {
          proc.kill("SIGKILL");
        }
      }
      expect(codes).toEqual({ bunc: 3, runc: 3 });
    });
  });
});
