/**
 * Bad input: each one gives one clear error line on stderr, a non-zero exit,
 * and leaves nothing behind — no ROOT/ID dir, no cgroup dir in any
 * hierarchy, no process, no mount.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { integrationSkipReason, Sandbox } from "../harness";
import { alive, cgroupDirsOf, cgroupEntriesContaining, expectOneError, leftovers, ownCgroupDirs, processesOf } from "./cli-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping integration tests: ${skip}`);

type Config = Record<string, any>;

interface BadBundle {
  name: string;
  /** Make the bundle broken; returns the bundle dir. */
  make: (sb: Sandbox) => string;
  /** What the error line must say. */
  says: RegExp[];
}

const badBundles: BadBundle[] = [
  {
    name: "missing config.json",
    make: (sb) => {
      const b = sb.bundle(["true"]);
      rmSync(path.join(b, "config.json"));
      return b;
    },
    says: [/config\.json/, /no such file|not found|does not exist/i],
  },
  {
    name: "unreadable config.json (a directory)",
    make: (sb) => {
      const b = sb.bundle(["true"]);
      rmSync(path.join(b, "config.json"));
      mkdirSync(path.join(b, "config.json"));
      return b;
    },
    says: [/config\.json/, /director/i],
  },
  {
    name: "missing bundle directory",
    make: (sb) => path.join(sb.dir, "no-such-bundle"),
    says: [/no-such-bundle/, /no such file|not found|does not exist/i],
  },
  {
    name: "invalid JSON",
    make: (sb) => {
      const b = sb.bundle(["true"]);
      writeFileSync(path.join(b, "config.json"), '{"ociVersion": "1.0.2", "process": {');
      return b;
    },
    says: [/config\.json/, /JSON/],
  },
  {
    name: "empty config.json",
    make: (sb) => {
      const b = sb.bundle(["true"]);
      writeFileSync(path.join(b, "config.json"), "");
      return b;
    },
    says: [/config\.json/],
  },
  {
    name: "wrong type: process.args is a string",
    make: (sb) =>
      sb.bundle(["true"], (c: Config) => {
        c.process.args = "sh -c true";
      }),
    says: [/process\.args/],
  },
  {
    name: "wrong type: process.user.uid is a string",
    make: (sb) =>
      sb.bundle(["true"], (c: Config) => {
        c.process.user.uid = "root";
      }),
    says: [/process\.user\.uid/],
  },
  {
    name: "missing rootfs",
    make: (sb) =>
      sb.bundle(["true"], (c: Config) => {
        c.root.path = "nosuchroot";
      }),
    says: [/nosuchroot/],
  },
  {
    name: "relative mount destination",
    make: (sb) =>
      sb.bundle(["true"], (c: Config) => {
        c.mounts.push({ destination: "relative/dir", type: "tmpfs", source: "tmpfs" });
      }),
    says: [/relative\/dir/],
  },
  {
    name: "unknown namespace type",
    make: (sb) =>
      sb.bundle(["true"], (c: Config) => {
        c.linux.namespaces.push({ type: "bogusns" });
      }),
    says: [/bogusns/],
  },
  {
    name: "args[0] not in the rootfs",
    make: (sb) => sb.bundle(["nosuch", "arg"]),
    says: [/exec: "nosuch": executable file not found in \$PATH/],
  },
  {
    name: "absolute args[0] not in the rootfs",
    make: (sb) => sb.bundle(["/bin/nosuch"]),
    // runc's words (Go's exec.LookPath stats a name with a slash, it does not search $PATH).
    says: [/exec: "\/bin\/nosuch": stat \/bin\/nosuch: no such file or directory$/],
  },
  {
    name: "relative args[0] with a slash not in the rootfs",
    make: (sb) => sb.bundle(["bin/nosuch"]),
    says: [/exec: "bin\/nosuch": stat bin\/nosuch: no such file or directory$/],
  },
];

describe.skipIf(!!skip)("bad input", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  describe("the leftover check itself", () => {
    test("sees every trace of a live container: state dir, cgroups (memory under our own cgroup), its process before and after start", () => {
      const id = sb.id("probe");
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
      const found = leftovers(sb, id, bundle);
      expect(found).toContain(`state dir ${path.join(sb.root, id)}`);
      const memory = ownCgroupDirs().find((d) => d.startsWith("/sys/fs/cgroup/memory"))!;
      expect(found).toContain(`cgroup ${path.join(memory, id)}`);
      for (const h of ["cpu", "pids", "devices", "freezer", "blkio"]) expect(found).toContain(`cgroup /sys/fs/cgroup/${h}/${id}`);
      expect(found.filter((f) => f.startsWith("pid ") && f.includes("argv names the id"))).toHaveLength(1);
      expect(sb.bunc(["start", id]).code).toBe(0);
      Bun.sleepSync(100);
      expect(leftovers(sb, id, bundle).filter((f) => f.startsWith("pid ") && f.includes("root is the rootfs"))).toHaveLength(1);
      expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("a broken bundle: create and run refuse it and leave nothing behind", () => {
    for (const bad of badBundles) {
      for (const verb of ["create", "run"] as const) {
        test(`${verb}: ${bad.name}`, () => {
          const bundle = bad.make(sb);
          const id = sb.id("bad");
          const r = sb.bunc([verb, "-b", bundle, id]);
          const line = expectOneError(r);
          for (const re of bad.says) expect(line).toMatch(re);
          expect(leftovers(sb, id, bundle)).toEqual([]);
          expect(sb.bunc(["list", "-q"]).stdout).not.toContain(id);
        });
      }
    }

    test("run -d: args[0] not in the rootfs", () => {
      const bundle = sb.bundle(["nosuch"]);
      const id = sb.id("bad");
      const line = expectOneError(sb.bunc(["run", "-d", "-b", bundle, id]));
      expect(line).toContain('exec: "nosuch": executable file not found in $PATH');
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });

  describe("a duplicate container id", () => {
    for (const verb of ["create", "run"] as const) {
      test(`${verb} with the id of a created container fails and leaves the first one intact`, () => {
        const id = sb.id("dup");
        const first = sb.bundle(["sleep", "30"]);
        expect(sb.bunc(["create", "-b", first, id]).code).toBe(0);
        const before = sb.state(id);
        const cgroups = cgroupDirsOf(id);
        expect(cgroups.length).toBeGreaterThan(0);
        const procsBefore = processesOf({ id });

        const second = sb.bundle(["sleep", "31"]);
        const line = expectOneError(sb.bunc([verb, "-b", second, id]));
        expect(line).toContain(id);
        expect(line).toMatch(/exist/i);

        // The first container is untouched: same state, cgroups and process.
        expect(sb.state(id)).toEqual(before);
        expect(alive(before.pid)).toBe(true);
        expect(cgroupDirsOf(id)).toEqual(cgroups);
        expect(processesOf({ id })).toEqual(procsBefore);
        // The second bundle got no process.
        expect(processesOf({ rootfs: path.join(second, "rootfs") })).toEqual([]);
        expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
        expect(leftovers(sb, id, first)).toEqual([]);
      });
    }
  });

  describe("an invalid container id", () => {
    // Each id holds a unique token so that whatever a careless path join makes can be found.
    const cases: [string, (token: string) => string, (sb: Sandbox, token: string) => string[]][] = [
      ["with a slash", (t) => `${t}/sub`, (sb, t) => [path.join(sb.root, t)]],
      ["starting with ../", (t) => `../${t}`, (sb, t) => [path.join(sb.dir, t), path.join(sb.root, t)]],
      ["with /../ inside", (t) => `${t}/../x`, (sb, t) => [path.join(sb.root, t), path.join(sb.root, "x")]],
    ];
    for (const [name, idOf, paths] of cases) {
      for (const verb of ["create", "run"] as const) {
        test(`${verb}: an id ${name}`, () => {
          const token = `tok${process.pid}x${Math.floor(Math.random() * 1e9)}`;
          const id = idOf(token);
          const bundle = sb.bundle(["sleep", "30"]);
          const line = expectOneError(sb.bunc([verb, "-b", bundle, id]));
          expect(line).toMatch(/invalid container id/i);
          for (const p of paths(sb, token)) expect(existsSync(p)).toBe(false);
          expect(cgroupEntriesContaining(token)).toEqual([]);
          expect(processesOf({ id, rootfs: path.join(bundle, "rootfs") })).toEqual([]);
        });
      }
    }

    for (const id of ["..", "."]) {
      test(`create: the id ${JSON.stringify(id)}`, () => {
        const bundle = sb.bundle(["sleep", "30"]);
        const rootBefore = existsSync(sb.root) ? readdirSync(sb.root).sort() : [];
        const dirBefore = readdirSync(sb.dir).sort();
        const line = expectOneError(sb.bunc(["create", "-b", bundle, id]));
        expect(line).toMatch(/invalid container id/i);
        expect(existsSync(sb.root) ? readdirSync(sb.root).sort() : []).toEqual(rootBefore);
        expect(readdirSync(sb.dir).sort()).toEqual(dirBefore);
        expect(processesOf({ rootfs: path.join(bundle, "rootfs") })).toEqual([]);
      });
    }

    test("create: an empty id", () => {
      const bundle = sb.bundle(["sleep", "30"]);
      expectOneError(sb.bunc(["create", "-b", bundle, ""]));
      expect(processesOf({ rootfs: path.join(bundle, "rootfs") })).toEqual([]);
    });

    for (const verb of ["state", "start", "kill", "delete"]) {
      test(`${verb}: an id with a slash is refused as invalid`, () => {
        const line = expectOneError(sb.bunc([verb, "a/b"]), 1);
        expect(line).toMatch(/invalid container id/i);
      });
    }
  });

  describe("an unknown container", () => {
    const verbs: [string, (id: string) => string[]][] = [
      ["state", (id) => ["state", id]],
      ["start", (id) => ["start", id]],
      ["kill", (id) => ["kill", id]],
      ["kill KILL", (id) => ["kill", id, "KILL"]],
      ["kill --all", (id) => ["kill", "--all", id]],
      ["delete", (id) => ["delete", id]],
    ];
    for (const [name, args] of verbs) {
      test(`${name} of an unknown container: exit 1, "does not exist", nothing made`, () => {
        const id = sb.id("unknown");
        const line = expectOneError(sb.bunc(args(id)), 1);
        expect(line).toMatch(/does not exist/);
        expect(leftovers(sb, id)).toEqual([]);
      });
    }

    test("delete -f of an unknown container succeeds silently", () => {
      const id = sb.id("unknown");
      const r = sb.bunc(["delete", "-f", id]);
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(leftovers(sb, id)).toEqual([]);
    });
  });

  describe("a bad signal", () => {
    const sbId = () => {
      const id = sb.id("sig");
      expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
      return id;
    };
    for (const sig of ["FOO", "SIGFOO", "99", "KILLX"]) {
      test(`kill with ${JSON.stringify(sig)} is refused and the container is untouched`, () => {
        const id = sbId();
        const before = sb.state(id);
        const line = expectOneError(sb.bunc(["kill", id, sig]), 1);
        if (sig !== "99") expect(line).toContain(`unknown signal "${sig}"`);
        else expect(line).toMatch(/signal|invalid argument/);
        Bun.sleepSync(100);
        expect(sb.state(id)).toEqual(before);
        expect(alive(before.pid)).toBe(true);
      });
    }
  });

  describe("a verb in the wrong status", () => {
    test("start of a running container is refused; it keeps running", () => {
      const id = sb.id("wrong");
      expect(sb.bunc(["run", "-d", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
      const before = sb.state(id);
      expect(before.status).toBe("running");
      const line = expectOneError(sb.bunc(["start", id]), 1);
      expect(line).toContain(id);
      expect(line).toMatch(/running/);
      expect(sb.state(id)).toEqual(before);
      expect(alive(before.pid)).toBe(true);
    });

    test("start of a stopped container is refused", () => {
      const id = sb.id("wrong");
      const bundle = sb.bundle(["true"]);
      expect(sb.bunc(["run", "--keep", "-b", bundle, id]).code).toBe(0);
      expect(sb.state(id).status).toBe("stopped");
      const line = expectOneError(sb.bunc(["start", id]), 1);
      expect(line).toMatch(/stopped/);
      expect(sb.state(id).status).toBe("stopped");
    });

    test("delete of a running container without -f is refused; it keeps running with its cgroup and state", () => {
      const id = sb.id("wrong");
      const bundle = sb.bundle(["sleep", "30"]);
      expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
      const before = sb.state(id);
      const cgroups = cgroupDirsOf(id);
      expect(cgroups.length).toBeGreaterThan(0);
      const line = expectOneError(sb.bunc(["delete", id]), 1);
      expect(line).toContain(id);
      expect(line).toMatch(/running/);
      expect(sb.state(id)).toEqual(before);
      expect(alive(before.pid)).toBe(true);
      expect(cgroupDirsOf(id)).toEqual(cgroups);
      expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("kill of a stopped container without --all is refused", () => {
      const id = sb.id("wrong");
      expect(sb.bunc(["run", "--keep", "-b", sb.bundle(["true"]), id]).code).toBe(0);
      const line = expectOneError(sb.bunc(["kill", id, "KILL"]), 1);
      expect(line).toMatch(/not running/);
    });
  });

  describe("bad command lines", () => {
    test("an unknown command exits 3 with one line naming it", () => {
      const line = expectOneError(sb.bunc(["nosuchcmd"]), 3);
      expect(line).toContain("nosuchcmd");
    });

    test("an unknown flag of a command is refused, naming it", () => {
      const id = sb.id("flag");
      const bundle = sb.bundle(["true"]);
      const line = expectOneError(sb.bunc(["create", "--nosuchflag", "-b", bundle, id]), 1);
      expect(line).toContain("nosuchflag");
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });

    test("an unknown global flag is refused, naming it", () => {
      const line = expectOneError(sb.bunc(["--nosuchglobal", "list"]), 1);
      expect(line).toContain("nosuchglobal");
    });

    test("create without an id is refused", () => {
      const bundle = sb.bundle(["true"]);
      expectOneError(sb.bunc(["create", "-b", bundle]), 1);
      expect(processesOf({ rootfs: path.join(bundle, "rootfs") })).toEqual([]);
    });

    test("state with two ids is refused", () => {
      expectOneError(sb.bunc(["state", "a", "b"]), 1);
    });

    test("--preserve-fds with a non-number is refused", () => {
      const id = sb.id("flag");
      const bundle = sb.bundle(["true"]);
      const line = expectOneError(sb.bunc(["create", "--preserve-fds", "x", "-b", bundle, id]), 1);
      expect(line).toContain("preserve-fds");
      expect(leftovers(sb, id, bundle)).toEqual([]);
    });
  });
});
