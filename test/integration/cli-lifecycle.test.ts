/**
 * The lifecycle verbs one by one — create, start, state, list, kill,
 * delete — on real containers, with the exact output formats runc has.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";
import { alive, bindOut, cgroupDirsOf, expectOneError, keySkeleton, leftovers, lines, procStatus, tabwriterProblems, waitFile, waitStatus } from "./cli-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping integration tests: ${skip}`);

type Config = Record<string, any>;

const STATE_KEYS = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"];

/** A shell loop that appends the name of each trapped signal to /out/sigs. */
const TRAP_LOOP = [
  "sh",
  "-c",
  'for s in HUP INT USR1 USR2 TERM ALRM; do trap "echo $s >> /out/sigs" $s; done; echo ready > /out/ready; while true; do sleep 0.05; done',
];

describe.skipIf(!!skip)("lifecycle verbs", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  /** A created container of a new bundle; returns its id, bundle and state. */
  function created(args: string[] = ["sleep", "30"], edit?: (c: Config) => void) {
    const id = sb.id();
    const bundle = sb.bundle(args, edit);
    const r = sb.bunc(["create", "-b", bundle, id]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    return { id, bundle, state: sb.state(id) };
  }

  describe("create", () => {
    test("leaves the container created: its process waits, the program has not run, a cgroup in every hierarchy", () => {
      const out = path.join(sb.dir, "create-out");
      mkdirSync(out);
      const { id, state } = created(["sh", "-c", "echo ran > /out/ran; sleep 30"], bindOut(out));
      expect(state.status).toBe("created");
      expect(alive(state.pid)).toBe(true);
      Bun.sleepSync(200);
      expect(existsSync(path.join(out, "ran"))).toBe(false);
      expect(existsSync(path.join(sb.root, id, "exec.fifo"))).toBe(true);
      const cgroups = cgroupDirsOf(id);
      for (const h of ["cpu", "memory", "pids", "devices", "freezer", "blkio"]) expect(cgroups.some((d) => d.startsWith(`/sys/fs/cgroup/${h}/`))).toBe(true);
      for (const dir of cgroups.filter((d) => !d.includes("/unified/"))) expect(readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n")).toContain(String(state.pid));
    });

    test("state dir modes are runc's: ROOT 0700, ROOT/ID 0711", () => {
      const { id } = created();
      expect(statSync(sb.root).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(sb.root, id)).mode & 0o777).toBe(0o711);
    });
  });

  describe("start", () => {
    test("runs the program of a created container and returns at once", () => {
      const out = path.join(sb.dir, "start-out");
      mkdirSync(out);
      const { id, state } = created(["sh", "-c", "echo $$ ran > /out/ran; sleep 30"], bindOut(out));
      const started = Date.now();
      expect(sb.bunc(["start", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(waitFile(path.join(out, "ran"))).toBe("1 ran\n");
      const after = sb.state(id);
      expect(after).toMatchObject({ status: "running", pid: state.pid });
      expect(existsSync(path.join(sb.root, id, "exec.fifo"))).toBe(false);
    });

    test("a process that exits at once after start shows as stopped with pid 0", () => {
      const { id } = created(["true"]);
      expect(sb.bunc(["start", id]).code).toBe(0);
      expect(waitStatus(sb, id, "stopped")).toMatchObject({ status: "stopped", pid: 0 });
    });
  });

  describe("state", () => {
    test("prints runc's fields in runc's order, 2-space indented, without a trailing newline", () => {
      const { id, bundle } = created();
      const r = sb.bunc(["state", id]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const s = JSON.parse(r.stdout);
      expect(Object.keys(s)).toEqual(STATE_KEYS);
      expect(r.stdout).toBe(JSON.stringify(s, null, 2));
      expect(s).toMatchObject({ id, status: "created", bundle, rootfs: path.join(bundle, "rootfs"), owner: "" });
      expect(typeof s.ociVersion).toBe("string");
      expect(s.pid).toBeGreaterThan(1);
    });

    test("created is RFC 3339 in UTC with up to 9 fractional digits and no trailing zeros", () => {
      const before = Date.now();
      const { state } = created();
      expect(state.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/);
      const t = Date.parse(state.created);
      expect(t).toBeGreaterThanOrEqual(before - 1000);
      expect(t).toBeLessThanOrEqual(Date.now() + 1000);
    });

    test("annotations are shown between created and owner, with keys sorted as runc's Go map", () => {
      const { state } = created(["sleep", "30"], (c: Config) => {
        c.annotations = { "b.key": "v1", "a.key": "v2" };
      });
      expect(Object.keys(state)).toEqual(["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"]);
      expect(Object.keys(state.annotations)).toEqual(["a.key", "b.key"]);
      expect(state.annotations).toEqual({ "a.key": "v2", "b.key": "v1" });
    });

    test("a relative root.path is joined to the bundle", () => {
      const { state, bundle } = created(["sleep", "30"], (c: Config) => {
        c.root.path = "./rootfs";
      });
      expect(state.rootfs).toBe(path.join(bundle, "rootfs"));
    });

    test("the pid is the host pid of the container's process", () => {
      const { id } = created();
      expect(sb.bunc(["start", id]).code).toBe(0);
      const s = waitStatus(sb, id, "running");
      expect(procStatus(s.pid, "Name")).toBe("sleep");
      expect(procStatus(s.pid, "NSpid")).toBe(`${s.pid}\t1`);
    });
  });

  describe("list", () => {
    const lsb = new Sandbox();
    afterAll(() => lsb.cleanup());
    const HEADER = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n";

    test("empty: the table header only, json null, -q nothing", () => {
      expect(lsb.bunc(["list"])).toEqual({ code: 0, stdout: HEADER, stderr: "" });
      expect(lsb.bunc(["list", "-f", "json"])).toEqual({ code: 0, stdout: "null\n", stderr: "" });
      expect(lsb.bunc(["list", "--format", "json"]).stdout).toBe("null\n");
      expect(lsb.bunc(["list", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
    });

    test("a root that does not exist lists as empty", () => {
      const r = sh([BUNC, "--root", path.join(lsb.dir, "no-root-here"), "list"]);
      expect(r).toEqual({ code: 0, stdout: HEADER, stderr: "" });
    });

    // Two containers, one running, for the three tests of what list shows (made before them: the
    // leak checker deletes what a test leaves, so no test may make what the next one reads).
    describe("two containers", () => {
      let ids: string[] = [];
      beforeAll(() => {
        const bundle = lsb.bundle(["sleep", "30"]);
        ids = [lsb.id("zz"), lsb.id("aa-long-container-name")];
        for (const id of ids) {
          const r = lsb.bunc(["create", "-b", bundle, id]);
          if (r.code !== 0) throw new Error(`create ${id}: ${r.stderr}`);
        }
        if (lsb.bunc(["start", ids[0]!]).code !== 0) throw new Error(`start ${ids[0]}`);
        waitStatus(lsb, ids[0]!, "running");
      });
      afterAll(() => {
        for (const id of ids) lsb.bunc(["delete", "-f", id]);
      });

      test("containers: table rows as runc's tabwriter, sorted by id, with state's values and the owner's name", () => {
        const r = lsb.bunc(["list"]);
        expect(r.code).toBe(0);
        expect(tabwriterProblems(r.stdout)).toEqual([]);
        const rows = lines(r.stdout).map((l) => l.split(/ +/));
        expect(rows[0]).toEqual(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
        const sorted = [...ids].sort();
        expect(rows.slice(1).map((r) => r[0])).toEqual(sorted);
        for (const [i, id] of sorted.entries()) {
          const s = lsb.state(id);
          expect(rows[i + 1]).toEqual([id, String(s.pid), s.status, s.bundle, s.created, "root"]);
        }
      });
      test("-f json: one line, the state of each container with owner filled in", () => {
        const r = lsb.bunc(["list", "-f", "json"]);
        expect(r.code).toBe(0);
        expect(r.stdout.endsWith("\n")).toBe(true);
        expect(lines(r.stdout)).toHaveLength(1);
        const list = JSON.parse(r.stdout);
        expect(list.length).toBe(2);
        for (const entry of list) {
          expect(Object.keys(entry)).toEqual(STATE_KEYS);
          expect(entry).toEqual({ ...lsb.state(entry.id), owner: "root" });
        }
      });

      test("-q prints the ids one per line and wins over -f", () => {
        const ids = lines(lsb.bunc(["list", "-q"]).stdout);
        expect(ids).toHaveLength(2);
        expect(ids).toEqual([...ids].sort());
        expect(lsb.bunc(["list", "-q", "-f", "json"]).stdout).toBe(ids.map((i) => i + "\n").join(""));
        expect(lsb.bunc(["list", "--quiet"]).stdout).toBe(ids.map((i) => i + "\n").join(""));
      });
    });

    test("a stopped container is listed with pid 0", () => {
      const id = lsb.id("stopped");
      expect(lsb.bunc(["run", "--keep", "-b", lsb.bundle(["true"]), id]).code).toBe(0);
      const entry = JSON.parse(lsb.bunc(["list", "-f", "json"]).stdout).find((e: { id: string }) => e.id === id);
      expect(entry).toMatchObject({ status: "stopped", pid: 0 });
      const row = lines(lsb.bunc(["list"]).stdout).find((l) => l.startsWith(id + " "));
      expect(row?.split(/ +/).slice(1, 3)).toEqual(["0", "stopped"]);
    });

    test("an unknown format is refused", () => {
      const line = expectOneError(lsb.bunc(["list", "-f", "yaml"]), 1);
      expect(line).toMatch(/format/);
    });

    test("list takes no arguments", () => {
      expectOneError(lsb.bunc(["list", "extra"]), 1);
    });
  });

  describe("kill", () => {
    /** A running trap loop; returns its id and the file where it writes the signals it gets. */
    function trapping() {
      const out = path.join(sb.dir, `sigs-${Math.random()}`);
      mkdirSync(out);
      const id = sb.id();
      expect(sb.bunc(["run", "-d", "-b", sb.bundle(TRAP_LOOP, bindOut(out)), id]).code).toBe(0);
      expect(waitFile(path.join(out, "ready"))).toBe("ready\n");
      return { id, sigs: path.join(out, "sigs") };
    }

    /** Send each signal spelling in turn and check the name the container's trap saw. */
    const spellings: [string[], string][] = [
      [[], "TERM"],
      [["TERM"], "TERM"],
      [["SIGTERM"], "TERM"],
      [["USR1"], "USR1"],
      [["SIGUSR1"], "USR1"],
      [["usr1"], "USR1"],
      [["sigusr2"], "USR2"],
      [["Hup"], "HUP"],
      [["10"], "USR1"],
      [["12"], "USR2"],
      [["2"], "INT"],
      [["SIGALRM"], "ALRM"],
    ];
    test("signal names with or without SIG, in any case, and numbers reach the container; the default is SIGTERM", () => {
      const { id, sigs } = trapping();
      const seen: string[] = [];
      for (const [arg, name] of spellings) {
        const r = sb.bunc(["kill", id, ...arg]);
        expect({ arg, code: r.code, stderr: r.stderr }).toEqual({ arg, code: 0, stderr: "" });
        seen.push(name);
        const want = seen.map((n) => n + "\n").join("");
        expect({ arg, got: waitFile(sigs, new RegExp(`^${want}$`)) }).toEqual({ arg, got: want });
      }
      expect(sb.state(id).status).toBe("running");
    });

    test("signal 0 checks that the container is alive", () => {
      const { id } = trapping();
      expect(sb.bunc(["kill", id, "0"]).code).toBe(0);
      expect(sb.state(id).status).toBe("running");
    });

    test("KILL stops a running container; then state shows stopped with pid 0", () => {
      const { id } = created();
      expect(sb.bunc(["start", id]).code).toBe(0);
      const pid = waitStatus(sb, id, "running").pid;
      expect(sb.bunc(["kill", id, "KILL"])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(waitStatus(sb, id, "stopped")).toMatchObject({ status: "stopped", pid: 0 });
      expect(alive(pid)).toBe(false);
    });

    test("KILL stops a created container", () => {
      const { id, state } = created();
      expect(sb.bunc(["kill", id, "SIGKILL"]).code).toBe(0);
      expect(waitStatus(sb, id, "stopped")).toMatchObject({ status: "stopped", pid: 0 });
      expect(alive(state.pid)).toBe(false);
    });

    test("without --all only the init process gets the signal; with -a/--all every process in the container does", () => {
      // pid 1 (sh) has no TERM handler and ignores TERM; its child sleep dies of it, then sh's wait returns.
      for (const flag of ["-a", "--all"]) {
        const out = path.join(sb.dir, `all-${Math.random()}`);
        mkdirSync(out);
        const id = sb.id();
        const bundle = sb.bundle(["sh", "-c", "sleep 1000 & echo $! > /out/child; wait; echo waited > /out/waited; sleep 1000"], bindOut(out));
        expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
        expect(waitFile(path.join(out, "child"))).toMatch(/^\d+\n$/);
        expect(sb.bunc(["kill", id, "TERM"]).code).toBe(0);
        Bun.sleepSync(300);
        expect(existsSync(path.join(out, "waited"))).toBe(false);
        expect(sb.bunc(["kill", flag, id, "TERM"]).code).toBe(0);
        expect({ flag, waited: waitFile(path.join(out, "waited")) }).toEqual({ flag, waited: "waited\n" });
        expect(sb.state(id).status).toBe("running");
      }
    });

    test("kill --all KILL stops every process of the container", () => {
      const id = sb.id();
      expect(sb.bunc(["run", "-d", "-b", sb.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"]), id]).code).toBe(0);
      const pid = waitStatus(sb, id, "running").pid;
      const procs = cgroupDirsOf(id).find((d) => d.startsWith("/sys/fs/cgroup/pids/"))!;
      expect(lines(readFileSync(path.join(procs, "cgroup.procs"), "utf8")).length).toBe(3);
      expect(sb.bunc(["kill", "--all", id, "KILL"]).code).toBe(0);
      expect(waitStatus(sb, id, "stopped").status).toBe("stopped");
      expect(alive(pid)).toBe(false);
      Bun.sleepSync(100);
      expect(lines(readFileSync(path.join(procs, "cgroup.procs"), "utf8"))).toEqual([]);
    });

    test("kill --all of a stopped container succeeds; without --all it is refused", () => {
      const id = sb.id();
      expect(sb.bunc(["run", "--keep", "-b", sb.bundle(["true"]), id]).code).toBe(0);
      expect(sb.bunc(["kill", "--all", id, "KILL"])).toEqual({ code: 0, stdout: "", stderr: "" });
      expectOneError(sb.bunc(["kill", id, "KILL"]), 1);
    });
  });

  describe("delete", () => {
    test("a created container is deleted without -f: process, cgroups and state are gone", () => {
      const { id, bundle, state } = created();
      expect(sb.bunc(["delete", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(alive(state.pid)).toBe(false);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("a running container is refused without -f and deleted with -f", () => {
      const { id, bundle, state } = created();
      expect(sb.bunc(["start", id]).code).toBe(0);
      waitStatus(sb, id, "running");
      expectOneError(sb.bunc(["delete", id]), 1);
      expect(alive(state.pid)).toBe(true);
      const started = Date.now();
      expect(sb.bunc(["delete", "-f", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(alive(state.pid)).toBe(false);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("--force is the long form of -f, and the flag may follow the id", () => {
      for (const args of [["--force"], ["-f"]]) {
        const id = sb.id();
        const bundle = sb.bundle(["sleep", "30"]);
        expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
        const r = args[0] === "-f" ? sb.bunc(["delete", id, "-f"]) : sb.bunc(["delete", "--force", id]);
        expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
        expect(leftovers(sb, id, bundle)).toEqual([]);
      }
    });

    test("a stopped container is deleted without -f", () => {
      const id = sb.id();
      const bundle = sb.bundle(["true"]);
      expect(sb.bunc(["run", "--keep", "-b", bundle, id]).code).toBe(0);
      expect(sb.state(id).status).toBe("stopped");
      expect(cgroupDirsOf(id).length).toBeGreaterThan(0);
      expect(sb.bunc(["delete", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("delete -f kills every process of the container, not only its init", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], (c: Config) => {
        // Without a pid namespace the children do not die with pid 1.
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
      });
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const procs = cgroupDirsOf(id).find((d) => d.startsWith("/sys/fs/cgroup/pids/"))!;
      const end = Date.now() + 5000;
      let pids: string[] = [];
      while (pids.length < 3 && Date.now() < end) pids = lines(readFileSync(path.join(procs, "cgroup.procs"), "utf8"));
      expect(pids.length).toBe(3);
      expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
      for (const pid of pids) expect(alive(Number(pid))).toBe(false);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("state after each step, as JSON", () => {
    test("create → created, start → running, kill → stopped, delete → gone, keeping the state's shape", () => {
      const { id, bundle, state } = created();
      const shape = keySkeleton(sb.bunc(["state", id]).stdout);
      expect(sb.bunc(["start", id]).code).toBe(0);
      const running = sb.state(id);
      expect(running).toEqual({ ...state, status: "running" });
      expect(keySkeleton(sb.bunc(["state", id]).stdout)).toEqual(shape);
      expect(sb.bunc(["kill", id, "KILL"]).code).toBe(0);
      const stopped = waitStatus(sb, id, "stopped");
      expect(stopped).toEqual({ ...state, status: "stopped", pid: 0 });
      expect(sb.bunc(["delete", id]).code).toBe(0);
      expectOneError(sb.bunc(["state", id]), 1);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("checkpoint", () => {
    test("--parent-path absolute or missing: refused before criu runs, naming --parent-path, as runc (checkpoint.bats)", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "60"]);
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const cwd = sb.dir;
      const abs = sb.bunc(["checkpoint", "--parent-path", path.join(cwd, "parent-dir"), "--work-path", "./work-dir", "--image-path", "./image-dir", id], { cwd });
      expect(expectOneError(abs, 1)).toBe("bunc: --parent-path must be relative");
      const missing = sb.bunc(["checkpoint", "--parent-path", "./parent-dir", "--work-path", "./work-dir", "--image-path", "./image-dir", id], { cwd });
      expect(expectOneError(missing, 1)).toBe(`bunc: invalid --parent-path: ${cwd}/image-dir/parent-dir: no such file or directory`);
      // The container was not touched.
      expect(sb.state(id).status).toBe("running");
      expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });
});
