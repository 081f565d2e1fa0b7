/**
 * Every global flag and every flag of spec, create, run and features, on
 * real containers with the compiled binary (issue 2).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { bindOut, buncWithFd3, expectOneError, leftovers, lines, procStatus, waitFile, waitStatus } from "./cli-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping integration tests: ${skip}`);
const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));
if (!skip && !STRACE) console.warn("skipping the strace checks of --no-pivot/--no-new-keyring/--no-subreaper: strace is not installed");

type Config = Record<string, any>;

describe.skipIf(!!skip)("global flags", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  describe("--root", () => {
    test("create keeps the state under --root, and another root does not see it", () => {
      const id = sb.id();
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
      expect(existsSync(path.join(sb.root, id, "state.json"))).toBe(true);
      const other = path.join(sb.dir, "other-root");
      const r = sh([BUNC, "--root", other, "state", id]);
      expect(r.code).toBe(1);
      expect(sh([BUNC, "--root", other, "list", "-q"]).stdout).toBe("");
      expect(sb.bunc(["list", "-q"]).stdout).toContain(`${id}\n`);
    });

    test("a relative --root is resolved against the working directory", () => {
      const cwd = path.join(sb.dir, "cwd-root");
      mkdirSync(cwd, { recursive: true });
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "30"]);
      const r = sh([BUNC, "--root", "relroot", "create", "-b", bundle, id], { cwd });
      try {
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(existsSync(path.join(cwd, "relroot", id, "state.json"))).toBe(true);
        const st = sh([BUNC, "--root", path.join(cwd, "relroot"), "state", id]);
        expect(st.code).toBe(0);
        expect(JSON.parse(st.stdout).status).toBe("created");
      } finally {
        sh([BUNC, "--root", path.join(cwd, "relroot"), "delete", "-f", id]);
      }
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("--log and --log-format", () => {
    test("--log FILE --log-format json: a failing command appends exactly one JSON line and prints one bunc: line", () => {
      const log = path.join(sb.dir, "json.log");
      writeFileSync(log, '{"level":"info","msg":"earlier","time":"2020-01-01T00:00:00Z"}\n');
      const id = sb.id("missing");
      const r = sb.bunc(["--log", log, "--log-format", "json", "state", id]);
      const line = expectOneError(r, 1);
      expect(line).toContain("does not exist");
      const logged = lines(readFileSync(log, "utf8"));
      expect(logged).toHaveLength(2);
      expect(logged[0]).toBe('{"level":"info","msg":"earlier","time":"2020-01-01T00:00:00Z"}');
      const entry = JSON.parse(logged[1]!);
      expect(Object.keys(entry)).toEqual(["level", "msg", "time"]);
      expect(entry.level).toBe("error");
      expect(entry.msg).toContain(id);
      expect(entry.msg).toContain("does not exist");
      expect(line).toBe(`bunc: ${entry.msg}`);
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      expect(Math.abs(Date.parse(entry.time) - Date.now())).toBeLessThan(60_000);

      // A second failure appends a second line.
      expectOneError(sb.bunc(["--log", log, "--log-format", "json", "kill", id, "KILL"]), 1);
      expect(lines(readFileSync(log, "utf8"))).toHaveLength(3);
    });

    test("--log FILE --log-format json: a failing create logs one JSON line and leaves nothing behind", () => {
      const log = path.join(sb.dir, "create.log");
      const id = sb.id();
      const bundle = sb.bundle(["nosuch"]);
      const line = expectOneError(sb.bunc(["--log", log, "--log-format", "json", "create", "-b", bundle, id]), 1);
      const logged = lines(readFileSync(log, "utf8"));
      expect(logged).toHaveLength(1);
      const entry = JSON.parse(logged[0]!);
      expect(entry.level).toBe("error");
      expect(entry.msg).toContain('exec: "nosuch": executable file not found in $PATH');
      expect(line).toBe(`bunc: ${entry.msg}`);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("--log FILE --log-format json: a successful command logs no error", () => {
      const log = path.join(sb.dir, "ok.log");
      const id = sb.id();
      expect(sb.bunc(["--log", log, "--log-format", "json", "run", "-b", sb.bundle(["true"]), id]).code).toBe(0);
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      for (const l of lines(text)) expect(JSON.parse(l).level).not.toBe("error");
    });

    test("--log FILE in text format: one logfmt line in FILE, one bunc: line on stderr", () => {
      const log = path.join(sb.dir, "text.log");
      const id = sb.id("missing");
      const line = expectOneError(sb.bunc(["--log", log, "state", id]), 1);
      expect(line).toContain("does not exist");
      const logged = lines(readFileSync(log, "utf8"));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/^time="[^"]+" level=error msg=".*does not exist.*"$/);
      expect(logged[0]).toContain(id);
    });

    test("--log-format json without --log: the error line on stderr is JSON, as runc's", () => {
      const r = sb.bunc(["--log-format", "json", "state", sb.id("missing")]);
      expect(r.code).toBe(1);
      const err = lines(r.stderr);
      expect(err).toHaveLength(1);
      const entry = JSON.parse(err[0]!);
      expect(entry).toMatchObject({ level: "error" });
      expect(entry.msg).toContain("does not exist");
    });

    test("an invalid --log-format is refused", () => {
      const line = expectOneError(sb.bunc(["--log-format", "xml", "list"]), 1);
      expect(line).toContain("xml");
      expect(line).toMatch(/log-format/);
    });
  });

  describe("--debug", () => {
    test("is accepted and does not change a command's output", () => {
      const id = sb.id();
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
      const plain = sb.bunc(["state", id]);
      const debug = sb.bunc(["--debug", "state", id]);
      expect(debug.code).toBe(0);
      expect(debug.stdout).toBe(plain.stdout);
    });

    test("a failing command with --debug still fails with its error", () => {
      const r = sb.bunc(["--debug", "state", sb.id("missing")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("does not exist");
      expect(r.stdout).toBe("");
    });

    test("--debug run works end to end", () => {
      const r = sb.bunc(["--debug", "run", "-b", sb.bundle(["sh", "-c", "echo dbg; exit 4"]), sb.id()]);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe("dbg\n");
    });
  });

  describe("--systemd-cgroup", () => {
    // With systemd as init the driver works (test/integration/systemd-cgroup.test.ts).
    const noSystemd = !existsSync("/run/systemd/system");
    for (const verb of ["create", "run"]) {
      test.skipIf(!noSystemd)(`${verb} with --systemd-cgroup on a host without systemd as init: runc's error, nothing left behind`, () => {
        const id = sb.id();
        const bundle = sb.bundle(verb === "run" ? ["true"] : ["sleep", "30"]);
        const line = expectOneError(sb.bunc(["--systemd-cgroup", verb, "-b", bundle, id]), 1);
        expect(line).toContain("systemd not running on this host, cannot use systemd cgroups manager");
        if (RUNC) expect(sb.runc(["--systemd-cgroup", verb, "-b", bundle, id]).stderr).toContain("systemd not running on this host, cannot use systemd cgroups manager");
        expect(leftovers(sb, id, bundle)).toEqual([]);
      });
    }

    test("commands that use no cgroup driver still work with it", () => {
      const id = sb.id();
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
      expect(sb.bunc(["--systemd-cgroup", "state", id]).code).toBe(0);
      expect(sb.bunc(["--systemd-cgroup", "list", "-q"]).stdout).toContain(id);
    });
  });

  describe("--rootless", () => {
    for (const value of ["true", "false", "auto"]) {
      test(`--rootless ${value} is accepted: run works`, () => {
        const r = sb.bunc(["--rootless", value, "run", "-b", sb.bundle(["sh", "-c", "echo ok"]), sb.id()]);
        expect(r).toMatchObject({ code: 0, stdout: "ok\n" });
      });
    }

    test("an invalid --rootless value is refused", () => {
      const line = expectOneError(sb.bunc(["--rootless", "maybe", "list"]), 1);
      expect(line).toContain("maybe");
    });
  });

  describe("-v/--version and -h/--help", () => {
    test("--version prints the version, the spec version and exits 0", () => {
      const r = sb.bunc(["--version"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^bunc version \d+\.\d+\.\d+/);
      expect(r.stdout).toMatch(/^spec: \d+\.\d+\.\d+/m);
      expect(sb.bunc(["-v"])).toEqual(r);
    });

    test("--help lists the commands and the global flags, exit 0", () => {
      const r = sb.bunc(["--help"]);
      expect(r.code).toBe(0);
      for (const word of ["create", "start", "run", "state", "list", "kill", "delete", "spec", "features", "--root", "--log", "--log-format", "--debug", "--systemd-cgroup", "--rootless"])
        expect(r.stdout).toContain(word);
      expect(r.stdout).not.toMatch(/\x1b\[/); // no colours when not on a terminal
      expect(sb.bunc(["-h"])).toEqual(r);
    });

    test("no command at all prints the help and exits 0", () => {
      const r = sh([BUNC]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("create");
    });

    test("create --help lists create's flags", () => {
      const r = sb.bunc(["create", "--help"]);
      expect(r.code).toBe(0);
      for (const flag of ["--bundle", "--pid-file", "--no-pivot", "--no-new-keyring", "--preserve-fds", "--console-socket"]) expect(r.stdout).toContain(flag);
    });

    test("Go's spellings, as runc: -version, --version=true, -help; --version=false is no request", () => {
      const version = sb.bunc(["--version"]);
      for (const v of [["-version"], ["--version=true"], ["--version=1"]]) expect(sb.bunc(v), v.join(" ")).toEqual(version);
      expect(sb.bunc(["-help"])).toEqual(sb.bunc(["--help"]));
      expect(sb.bunc(["--version=false", "list"]).stdout).toStartWith("ID ");
    });

    test("an unknown flag before the command is named, not taken for a boolean before it (runc: flag provided but not defined)", () => {
      const r = sb.bunc(["--foo", "bar", "list"]);
      expect(r.stderr).toBe("bunc: flag provided but not defined: -foo\n");
      expect(r.code).toBe(1);
      if (RUNC) expect(sh([RUNC, "--foo", "bar", "list"]).stderr).toContain("flag provided but not defined: -foo");
    });

    test("--debug=junk is refused as Go's ParseBool refuses it; --debug=0 is off", () => {
      const r = sb.bunc(["--debug=junk", "list"]);
      expect(r.stderr).toBe('bunc: invalid boolean value "junk" for -debug: parse error\n');
      expect(r.code).toBe(1);
      expect(sb.bunc(["--debug=0", "list"]).code).toBe(0);
      if (RUNC) expect(sh([RUNC, "--debug=junk", "list"]).stderr).toMatch(/invalid boolean value \\?"junk\\?" for -debug: parse error/);
    });

    test("run -h lists run's own flags", () => {
      const r = sb.bunc(["run", "-h"]);
      expect(r.code).toBe(0);
      for (const flag of ["--detach", "--keep", "--no-subreaper"]) expect(r.stdout).toContain(flag);
    });
  });
});

describe.skipIf(!!skip)("spec", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  function runcSpec(rootless: boolean): Config | undefined {
    if (!RUNC) return undefined;
    const dir = path.join(sb.dir, `runc-spec-${rootless}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    expect(sh([RUNC, "spec", ...(rootless ? ["--rootless"] : [])], { cwd: dir }).code).toBe(0);
    return JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  }

  test("spec -b DIR writes DIR/config.json: runc's default spec (hostname aside), tab-indented, no trailing newline", () => {
    const dir = path.join(sb.dir, "spec-b");
    mkdirSync(dir);
    const r = sb.bunc(["spec", "-b", dir]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const text = readFileSync(path.join(dir, "config.json"), "utf8");
    const spec = JSON.parse(text);
    expect(text).toBe(JSON.stringify(spec, null, "\t"));
    expect(spec).toMatchObject({ ociVersion: expect.stringMatching(/^1\./), root: { path: "rootfs" }, process: { terminal: true, args: ["sh"], cwd: "/" } });
    const runc = runcSpec(false);
    // All but the ociVersion, which is the one bunc implements (--version says it), where runc 1.1 writes 1.0.2-dev.
    if (runc) expect({ ...spec, hostname: "runc", ociVersion: runc.ociVersion }).toEqual(runc);
  });

  test("spec --bundle DIR is the same as -b DIR", () => {
    const dir = path.join(sb.dir, "spec-bundle");
    mkdirSync(dir);
    expect(sb.bunc(["spec", "--bundle", dir]).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).process.args).toEqual(["sh"]);
  });

  test("spec without -b writes config.json in the working directory", () => {
    const dir = path.join(sb.dir, "spec-cwd");
    mkdirSync(dir);
    expect(sb.bunc(["spec"], { cwd: dir }).code).toBe(0);
    expect(readdirSync(dir)).toEqual(["config.json"]);
  });

  test("spec refuses to overwrite an existing config.json", () => {
    const dir = path.join(sb.dir, "spec-exists");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "config.json"), "mine");
    const line = expectOneError(sb.bunc(["spec", "-b", dir]), 1);
    expect(line).toMatch(/config\.json/);
    expect(line).toMatch(/exists/);
    expect(readFileSync(path.join(dir, "config.json"), "utf8")).toBe("mine");
  });

  test("spec into a missing directory fails", () => {
    const dir = path.join(sb.dir, "spec-missing");
    const line = expectOneError(sb.bunc(["spec", "-b", dir]), 1);
    expect(line).toContain("spec-missing");
    expect(existsSync(dir)).toBe(false);
  });

  test("spec --rootless: a user namespace mapping root to the caller, no network namespace, as runc's", () => {
    const dir = path.join(sb.dir, "spec-rootless");
    mkdirSync(dir);
    expect(sb.bunc(["spec", "--rootless", "-b", dir]).code).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
    const types = spec.linux.namespaces.map((n: { type: string }) => n.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: process.getgid!(), size: 1 }]);
    const runc = runcSpec(true);
    // All but the ociVersion, which is the one bunc implements (--version says it), where runc 1.1 writes 1.0.2-dev.
    if (runc) expect({ ...spec, hostname: "runc", ociVersion: runc.ociVersion }).toEqual(runc);
  });

  test("a spec-generated bundle runs once terminal is turned off", () => {
    const dir = path.join(sb.dir, "spec-run");
    mkdirSync(dir);
    const rootfsFrom = sb.bundle(["true"]);
    expect(sb.bunc(["spec", "-b", dir]).code).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
    spec.process.terminal = false;
    spec.process.args = ["sh", "-c", "echo from-spec"];
    spec.root.path = path.join(rootfsFrom, "rootfs");
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(spec));
    expect(sb.bunc(["run", "-b", dir, sb.id()])).toMatchObject({ code: 0, stdout: "from-spec\n" });
  });
});

describe.skipIf(!!skip)("features", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("prints valid JSON with ociVersionMin/Max and linux.namespaces, 4-space indented", () => {
    const r = sb.bunc(["features"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const f = JSON.parse(r.stdout);
    expect(r.stdout).toBe(JSON.stringify(f, null, 4) + "\n");
    expect(f.ociVersionMin).toMatch(/^1\.\d+\.\d+/);
    expect(f.ociVersionMax).toMatch(/^1\.\d+\.\d+/);
    for (const ns of ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]) expect(f.linux.namespaces).toContain(ns);
    expect(Array.isArray(f.mountOptions)).toBe(true);
    expect(f.mountOptions).toContain("bind");
  });

  test("has runc's top-level keys", () => {
    if (!RUNC) return;
    const runc = JSON.parse(sh([RUNC, "features"]).stdout);
    const bunc = JSON.parse(sb.bunc(["features"]).stdout);
    for (const key of Object.keys(runc)) expect(Object.keys(bunc)).toContain(key);
    for (const key of Object.keys(runc.linux)) expect(Object.keys(bunc.linux)).toContain(key);
  });

  test("takes no arguments", () => {
    expectOneError(sb.bunc(["features", "--nosuch"]), 1);
  });
});

describe.skipIf(!!skip)("create and run flags", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  describe("-b/--bundle", () => {
    test("without -b the working directory is the bundle", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["create", id], { cwd: bundle }).code).toBe(0);
      expect(sb.state(id)).toMatchObject({ bundle, rootfs: path.join(bundle, "rootfs"), status: "created" });
    });

    test("a relative -b is resolved against the working directory; state shows it absolute", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["create", "-b", path.basename(bundle), id], { cwd: path.dirname(bundle) }).code).toBe(0);
      expect(sb.state(id).bundle).toBe(bundle);
    });

    test("--bundle is the long form", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["create", "--bundle", bundle, id]).code).toBe(0);
      expect(sb.state(id).bundle).toBe(bundle);
    });
  });

  describe("--pid-file", () => {
    test("create writes the pid without a trailing newline", () => {
      const id = sb.id();
      const pidFile = path.join(sb.dir, `${id}.pid`);
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), "--pid-file", pidFile, id]).code).toBe(0);
      const text = readFileSync(pidFile, "utf8");
      expect(text).toMatch(/^\d+$/);
      expect(Number(text)).toBe(sb.state(id).pid);
    });

    test("a relative --pid-file is resolved against the working directory, not the bundle", () => {
      const id = sb.id();
      const cwd = path.join(sb.dir, "pid-cwd");
      mkdirSync(cwd, { recursive: true });
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["create", "-b", bundle, "--pid-file", "rel.pid", id], { cwd }).code).toBe(0);
      expect(readFileSync(path.join(cwd, "rel.pid"), "utf8")).toBe(String(sb.state(id).pid));
      expect(existsSync(path.join(bundle, "rel.pid"))).toBe(false);
    });

    test("an existing pid file is replaced", () => {
      const id = sb.id();
      const pidFile = path.join(sb.dir, `${id}.pid`);
      writeFileSync(pidFile, "999999999\nold\n");
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), "--pid-file", pidFile, id]).code).toBe(0);
      expect(readFileSync(pidFile, "utf8")).toBe(String(sb.state(id).pid));
    });

    test("run -d writes the pid of the running process", () => {
      const id = sb.id();
      const pidFile = path.join(sb.dir, `${id}.pid`);
      expect(sb.bunc(["run", "-d", "-b", sb.bundle(["sleep", "30"]), "--pid-file", pidFile, id]).code).toBe(0);
      const st = sb.state(id);
      expect(st.status).toBe("running");
      expect(readFileSync(pidFile, "utf8")).toBe(String(st.pid));
      expect(procStatus(st.pid, "Name")).toBe("sleep");
    });

    test("run in the foreground writes the pid file while the container runs", () => {
      const id = sb.id();
      const pidFile = path.join(sb.dir, `${id}.pid`);
      const out = path.join(sb.dir, `${id}-out`);
      mkdirSync(out);
      const r = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", "echo $$ > /out/inner"], bindOut(out)), "--pid-file", pidFile, id]);
      expect(r.code).toBe(0);
      expect(readFileSync(pidFile, "utf8")).toMatch(/^\d+$/);
      expect(readFileSync(path.join(out, "inner"), "utf8")).toBe("1\n"); // pid 1 in its own pid namespace
    });
  });

  describe("--no-pivot", () => {
    test("the container runs in its rootfs", () => {
      const r = sb.bunc(["run", "--no-pivot", "-b", sb.bundle(["cat", "/etc/group"]), sb.id()]);
      expect(r).toMatchObject({ code: 0, stdout: "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n" });
    });

    test.skipIf(!STRACE)("uses chroot and no pivot_root (pivot_root without the flag)", () => {
      const trace = (flags: string[]) => {
        const file = path.join(sb.dir, `strace-${Math.random()}`);
        const r = sh([STRACE!, "-f", "-qq", "-e", "trace=pivot_root,chroot", "-o", file, BUNC, "--root", sb.root, "run", ...flags, "-b", sb.bundle(["true"]), sb.id()]);
        expect(r.code).toBe(0);
        return readFileSync(file, "utf8");
      };
      const pivot = trace([]);
      expect(pivot).toContain("pivot_root(");
      const noPivot = trace(["--no-pivot"]);
      expect(noPivot).not.toContain("pivot_root(");
      expect(noPivot).toMatch(/chroot\("\."\)\s+= 0/);
    });
  });

  describe("--no-new-keyring", () => {
    // /proc/keys lists the keyrings root can see; the default spec masks it, so unmask it.
    const keysBundle = () =>
      sb.bundle(["cat", "/proc/keys"], (c: Config) => {
        c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== "/proc/keys");
      });

    test("without it the container joins a new session keyring _ses.ID", () => {
      const id = sb.id();
      const r = sb.bunc(["run", "-b", keysBundle(), id]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`_ses.${id}:`);
    });

    test("with it no keyring _ses.ID is made", () => {
      const id = sb.id();
      const r = sb.bunc(["run", "--no-new-keyring", "-b", keysBundle(), id]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("keyring"); // /proc/keys was readable
      expect(r.stdout).not.toContain(`_ses.${id}:`);
    });

    test.skipIf(!STRACE)("with it there is no KEYCTL_JOIN_SESSION_KEYRING call (there is one without)", () => {
      // run, not create: strace -f would wait for the created process to exit.
      const trace = (flags: string[]) => {
        const file = path.join(sb.dir, `strace-${Math.random()}`);
        const r = sh([STRACE!, "-f", "-qq", "-e", "trace=keyctl", "-o", file, BUNC, "--root", sb.root, "run", ...flags, "-b", sb.bundle(["true"]), sb.id()]);
        expect(r.code).toBe(0);
        return readFileSync(file, "utf8");
      };
      expect(trace([])).toContain("KEYCTL_JOIN_SESSION_KEYRING");
      expect(trace(["--no-new-keyring"])).not.toContain("KEYCTL_JOIN_SESSION_KEYRING");
    });
  });

  describe("--preserve-fds", () => {
    // A helper in the container lists the fds of pid 1 once it has become a plain `sleep`
    // (a shell listing its own fds would race with the pipes and saved fds it makes).
    const LIST_FDS =
      "echo via-fd3 >&3; (while ! grep -q sleep /proc/1/comm; do sleep 0.01; done; ls /proc/1/fd | tr '\\n' ' ' > /out/fds.tmp; mv /out/fds.tmp /out/fds) & exec sleep 1";
    const fdsBundle = (out: string) => sb.bundle(["sh", "-c", LIST_FDS], bindOut(out));

    test("--preserve-fds 1 passes fd 3: the container has exactly 0 1 2 3, and fd 3 is the caller's file", () => {
      const out = path.join(sb.dir, `fds-${Math.random()}`);
      mkdirSync(out);
      const fd3 = path.join(sb.dir, `fd3-${Math.random()}`);
      writeFileSync(fd3, "");
      const r = buncWithFd3(sb, ["run", "--preserve-fds", "1", "-b", fdsBundle(out), sb.id()], fd3);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(readFileSync(path.join(out, "fds"), "utf8")).toBe("0 1 2 3 ");
      expect(readFileSync(fd3, "utf8")).toBe("via-fd3\n");
    });

    test("without --preserve-fds fd 3 is closed: the container has exactly 0 1 2", () => {
      const out = path.join(sb.dir, `fds-${Math.random()}`);
      mkdirSync(out);
      const fd3 = path.join(sb.dir, `fd3-${Math.random()}`);
      writeFileSync(fd3, "");
      const r = buncWithFd3(sb, ["run", "-b", fdsBundle(out), sb.id()], fd3);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/3/); // the shell's "echo >&3" failed: bad file descriptor
      expect(readFileSync(path.join(out, "fds"), "utf8")).toBe("0 1 2 ");
      expect(readFileSync(fd3, "utf8")).toBe("");
    });

    test("create --preserve-fds 1 keeps fd 3 open until start", () => {
      const out = path.join(sb.dir, `fds-${Math.random()}`);
      mkdirSync(out);
      const fd3 = path.join(sb.dir, `fd3-${Math.random()}`);
      writeFileSync(fd3, "");
      const id = sb.id();
      const r = buncWithFd3(sb, ["create", "--preserve-fds", "1", "-b", fdsBundle(out), id], fd3);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(sb.bunc(["start", id]).code).toBe(0);
      expect(waitFile(path.join(out, "fds"))).toBe("0 1 2 3 ");
      expect(waitFile(fd3)).toBe("via-fd3\n");
    });
  });

  describe("--console-socket and --pidfd-socket", () => {
    for (const verb of ["create", "run"]) {
      test(`${verb} --pidfd-socket to a socket that does not exist is refused, naming it, with nothing left behind`, () => {
        const id = sb.id();
        const bundle = sb.bundle(verb === "run" ? ["true"] : ["sleep", "30"]);
        const socket = path.join(sb.dir, "no-such-pidfd.sock");
        const line = expectOneError(sb.bunc([verb, "--pidfd-socket", socket, "-b", bundle, id]), 1);
        expect(line).toContain(socket);
        expect(leftovers(sb, id, bundle)).toEqual([]);
      });

      test(`${verb} --console-socket is refused, naming it, when the process has no terminal (as runc)`, () => {
        const id = sb.id();
        const bundle = sb.bundle(verb === "run" ? ["true"] : ["sleep", "30"]);
        const line = expectOneError(sb.bunc([verb, "--console-socket", path.join(sb.dir, "console.sock"), "-b", bundle, id]), 1);
        expect(line).toMatch(/console.socket/);
        expect(leftovers(sb, id, bundle)).toEqual([]);
      });

      test(`${verb} --console-socket to a missing socket fails, naming it, and leaves nothing behind`, () => {
        const id = sb.id();
        const bundle = sb.bundle(["sleep", "30"], (c: Config) => {
          c.process.terminal = true;
        });
        const line = expectOneError(sb.bunc([verb, ...(verb === "run" ? ["-d"] : []), "--console-socket", path.join(sb.dir, "no-console.sock"), "-b", bundle, id]), 1);
        expect(line).toContain("no-console.sock");
        expect(leftovers(sb, id, bundle)).toEqual([]);
      });
    }

    test("create of a terminal process without --console-socket is refused, naming the flag", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sleep", "30"], (c: Config) => {
        c.process.terminal = true;
      });
      const line = expectOneError(sb.bunc(["create", "-b", bundle, id]), 1);
      expect(line).toMatch(/console.socket/);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("run", () => {
    for (const code of [0, 1, 7, 42, 255]) {
      test(`passes the exit code ${code} through`, () => {
        const r = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", `exit ${code}`]), sb.id()]);
        expect(r.code).toBe(code);
      });
    }

    test("exits 128+9 when the container's process is killed with SIGKILL", async () => {
      const id = sb.id();
      const out = path.join(sb.dir, `${id}.out`);
      const proc = Bun.spawn([BUNC, "--root", sb.root, "run", "-b", sb.bundle(["sleep", "30"]), id], { stdout: Bun.file(out), stderr: "pipe" });
      try {
        expect(waitStatus(sb, id, "running").status).toBe("running");
        expect(sb.bunc(["kill", id, "KILL"]).code).toBe(0);
        expect(await exitWithin(proc, 10_000)).toBe(137);
      } finally {
        proc.kill("SIGKILL");
      }
    });

    test("exits 128+15 when the process dies of SIGTERM (no pid namespace, so it can signal itself)", () => {
      const bundle = sb.bundle(["sh", "-c", "kill -TERM $$; sleep 5"], (c: Config) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
      });
      expect(sb.bunc(["run", "-b", bundle, sb.id()]).code).toBe(143);
    });

    const forwarded: [string, number][] = [
      ["SIGTERM", 3],
      ["SIGINT", 4],
      ["SIGHUP", 5],
      ["SIGUSR1", 6],
      ["SIGUSR2", 7],
      ["SIGQUIT", 8],
    ];
    for (const [sig, code] of forwarded) {
      test(`forwards ${sig} sent to bunc run to the container (its trap exits ${code})`, async () => {
        const id = sb.id();
        const out = path.join(sb.dir, `${id}.out`);
        const trapName = sig.replace(/^SIG/, "");
        const bundle = sb.bundle(["sh", "-c", `trap "exit ${code}" ${trapName}; echo ready; while true; do sleep 0.1; done`]);
        const proc = Bun.spawn([BUNC, "--root", sb.root, "run", "-b", bundle, id], { stdout: Bun.file(out), stderr: "pipe" });
        try {
          expect(waitFile(out, /ready/)).toBe("ready\n");
          proc.kill(sig as NodeJS.Signals);
          expect(await exitWithin(proc, 10_000)).toBe(code);
        } finally {
          proc.kill("SIGKILL");
        }
        expect(leftovers(sb, id, bundle)).toEqual([]);
      });
    }

    test("deletes the container after it exits: no state, no cgroup, not listed", () => {
      const id = sb.id();
      const bundle = sb.bundle(["true"]);
      expect(sb.bunc(["run", "-b", bundle, id]).code).toBe(0);
      expect(leftovers(sb, id, bundle)).toEqual([]);
      expect(sb.bunc(["state", id]).code).toBe(1);
      expect(sb.bunc(["list", "-q"]).stdout).not.toContain(id);
    });

    test("--keep keeps the stopped container: state stopped with pid 0, listed, deletable without -f", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sh", "-c", "exit 5"]);
      expect(sb.bunc(["run", "--keep", "-b", bundle, id]).code).toBe(5);
      expect(sb.state(id)).toMatchObject({ id, status: "stopped", pid: 0, bundle });
      expect(JSON.parse(sb.bunc(["list", "-f", "json"]).stdout).find((s: { id: string }) => s.id === id)).toMatchObject({ status: "stopped", pid: 0 });
      expect(sb.bunc(["delete", id])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    for (const flag of ["-d", "--detach"]) {
      test(`${flag} returns at once with the container running`, () => {
        const id = sb.id();
        const started = Date.now();
        const r = sb.bunc(["run", flag, "-b", sb.bundle(["sleep", "30"]), id]);
        expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
        expect(Date.now() - started).toBeLessThan(10_000);
        const st = sb.state(id);
        expect(st.status).toBe("running");
        expect(procStatus(st.pid, "Name")).toBe("sleep");
      });
    }

    test("run -d --keep is accepted; the container stays after it exits", () => {
      const id = sb.id();
      expect(sb.bunc(["run", "-d", "--keep", "-b", sb.bundle(["true"]), id]).code).toBe(0);
      expect(waitStatus(sb, id, "stopped").status).toBe("stopped");
    });

    test("orphans are reparented to bunc run (child subreaper) by default", async () => {
      const { ppid, runPid } = await orphanParent([]);
      expect(ppid).toBe(runPid);
    });

    test("--no-subreaper: orphans are not reparented to bunc run", async () => {
      const { ppid, runPid } = await orphanParent(["--no-subreaper"]);
      expect(ppid).toBeGreaterThan(0);
      expect(ppid).not.toBe(runPid);
    });

    test.skipIf(!STRACE)("--no-subreaper: bunc does not call PR_SET_CHILD_SUBREAPER", () => {
      const trace = (flags: string[]) => {
        const file = path.join(sb.dir, `strace-${Math.random()}`);
        const r = sh([STRACE!, "-f", "-qq", "-e", "trace=prctl", "-o", file, BUNC, "--root", sb.root, "run", ...flags, "-b", sb.bundle(["true"]), sb.id()]);
        expect(r.code).toBe(0);
        return readFileSync(file, "utf8");
      };
      expect(trace([])).toContain("PR_SET_CHILD_SUBREAPER, 1");
      expect(trace(["--no-subreaper"])).not.toContain("PR_SET_CHILD_SUBREAPER, 1");
    });

    /**
     * A container without a pid namespace whose shell starts a background
     * sleep in a subshell that exits at once: the sleep is orphaned and goes
     * to the nearest subreaper. Returns its parent and bunc run's pid.
     */
    async function orphanParent(flags: string[]): Promise<{ ppid: number; runPid: number }> {
      const id = sb.id();
      const out = path.join(sb.dir, `${id}-out`);
      mkdirSync(out);
      const bundle = sb.bundle(["sh", "-c", "(sleep 3 & echo $! > /out/orphan); sleep 1; echo done > /out/done; sleep 2"], (c: Config) => {
        bindOut(out)(c);
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
      });
      const proc = Bun.spawn([BUNC, "--root", sb.root, "run", ...flags, "-b", bundle, id], { stdout: "ignore", stderr: "ignore" });
      try {
        const orphan = Number(waitFile(path.join(out, "orphan"), /^\d+\n/).trim());
        waitFile(path.join(out, "done"));
        const ppid = Number(procStatus(orphan, "PPid") ?? -1);
        await exitWithin(proc, 10_000);
        return { ppid, runPid: proc.pid };
      } finally {
        proc.kill("SIGKILL");
      }
    }
  });
});

/** The exit code of proc, or "timeout" if it has not exited within ms. */
async function exitWithin(proc: { exited: Promise<number> }, ms: number): Promise<number | "timeout"> {
  return Promise.race([proc.exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms))]);
}
