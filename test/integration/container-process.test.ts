/**
 * The container's process, seen from inside: args and PATH lookup, env,
 * cwd, user and groups, umask, rlimits, no_new_privs, oom_score_adj, the
 * five capability sets, masked and read-only paths, the cgroup it runs in
 * and the device cgroup. Where runc supports the same config, bunc's view
 * must equal runc's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { accessOptions, both, buncRun, capHex, type Config, hostCaps, mapUsers, mountAt, openSandboxForUserns, parseCaps, parseMountInfo, setNamespace, show, userNamespaceSkipReason } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping container process tests: ${skip}`);

/** Assert bunc ran, and when runc also ran the config, that both printed the same. */
function expectSameAsRunc(res: ReturnType<typeof both>, normalize: (s: string) => string = (s) => s): void {
  expect(res.bunc.code, res.why).toBe(0);
  if (!res.runc) return;
  expect(res.runc.code, `runc refused the config: ${res.why}`).toBe(0);
  expect(normalize(res.bunc.stdout), res.why).toBe(normalize(res.runc.stdout));
}

/** Run `args` directly (no shell in between) in a fresh bundle under both runtimes. */
function bothArgs(sb: Sandbox, args: string[], edit?: (c: Config) => void, prepare?: (b: string) => void) {
  const run = (runtime: "bunc" | "runc") => {
    const bundle = sb.bundle(args, edit);
    prepare?.(bundle);
    return runtime === "bunc" ? sb.bunc(["run", "-b", bundle, sb.id()]) : sb.runc(["run", "-b", bundle, sb.id()]);
  };
  const b = run("bunc");
  const r = RUNC ? run("runc") : undefined;
  return { bunc: b, runc: r, why: `bunc: ${show(b)}\nrunc (same config): ${show(r)}` };
}

describe.skipIf(!!skip)("process", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  describe("args and PATH lookup", () => {
    const tool = (b: string, dir: string, body: string, mode = 0o755) => {
      mkdirSync(`${b}/rootfs${dir}`, { recursive: true });
      writeFileSync(`${b}/rootfs${dir}/only-here`, `#!/bin/sh\necho ${body} "$@"\n`);
      chmodSync(`${b}/rootfs${dir}/only-here`, mode);
    };

    test("a program only in /usr/bin is found by name through PATH", () => {
      const res = bothArgs(sb, ["only-here", "a b", "c"], undefined, (b) => tool(b, "/usr/bin", "found-in-usr-bin"));
      expect(res.bunc.stdout, res.why).toBe("found-in-usr-bin a b c\n");
      expectSameAsRunc(res);
    });

    test("PATH from process.env decides where to look", () => {
      const edit = (c: Config) => (c.process.env = ["PATH=/opt/tools:/bin"]);
      const res = bothArgs(sb, ["only-here"], edit, (b) => {
        tool(b, "/opt/tools", "from-opt-tools");
        tool(b, "/usr/bin", "from-usr-bin");
      });
      expect(res.bunc.stdout, res.why).toBe("from-opt-tools\n");
      expectSameAsRunc(res);
    });

    test("a non-executable file earlier in PATH is skipped", () => {
      const res = bothArgs(sb, ["only-here"], undefined, (b) => {
        tool(b, "/usr/local/bin", "not-executable", 0o644);
        tool(b, "/usr/bin", "the-executable-one");
      });
      expect(res.bunc.stdout, res.why).toBe("the-executable-one\n");
      expectSameAsRunc(res);
    });

    test("a program that does not exist: a clear error naming it, non-zero exit, nothing left behind", () => {
      const id = sb.id();
      const bundle = sb.bundle(["no-such-program"]);
      const r = sb.bunc(["run", "-b", bundle, id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("no-such-program");
      expect(sb.bunc(["state", id]).code).not.toBe(0);
      expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
    });

    test("the exit code of the process is run's exit code", () => {
      const res = both(sb, "exit 42");
      expect(res.bunc.code, res.why).toBe(42);
      if (res.runc) expect(res.bunc.code).toBe(res.runc.code);
    });
  });

  describe("env", () => {
    test("passed exactly, in order, with HOME=/root from /etc/passwd added for root", () => {
      const env = ["PATH=/usr/bin:/bin", "FOO=bar", "EMPTY=", "WITH_EQ=a=b", "SPACES=a  b"];
      const res = bothArgs(sb, ["env"], (c) => (c.process.env = env));
      expect(res.bunc.stdout, res.why).toBe([...env, "HOME=/root", ""].join("\n"));
      expectSameAsRunc(res);
    });

    test("a HOME in the config is kept, not doubled", () => {
      const env = ["PATH=/usr/bin", "HOME=/custom/home"];
      const res = bothArgs(sb, ["env"], (c) => (c.process.env = env));
      expect(res.bunc.stdout, res.why).toBe("PATH=/usr/bin\nHOME=/custom/home\n");
      expectSameAsRunc(res);
    });

    test("HOME of a non-root user comes from /etc/passwd, and / for a user not in it", () => {
      const nobody = bothArgs(sb, ["env"], (c) => {
        c.process.env = ["PATH=/usr/bin"];
        c.process.user = { uid: 65534, gid: 65534 };
      });
      expect(nobody.bunc.stdout, nobody.why).toBe("PATH=/usr/bin\nHOME=/nonexistent\n");
      expectSameAsRunc(nobody);
      const unknown = bothArgs(sb, ["env"], (c) => {
        c.process.env = ["PATH=/usr/bin"];
        c.process.user = { uid: 4242, gid: 4242 };
      });
      expect(unknown.bunc.stdout, unknown.why).toBe("PATH=/usr/bin\nHOME=/\n");
      expectSameAsRunc(unknown);
    });
  });

  describe("cwd", () => {
    test("the process starts in cwd", () => {
      const res = both(sb, "pwd", (c) => (c.process.cwd = "/etc"));
      expect(res.bunc.stdout, res.why).toBe("/etc\n");
      expectSameAsRunc(res);
    });

    test("a missing cwd is created (even with a read-only rootfs)", () => {
      let bundle = "";
      const res = both(sb, "pwd; stat -c '%F %a' .", (c) => (c.process.cwd = "/work/dir/deep"), { prepare: (b) => (bundle ||= b) });
      expect(res.bunc.stdout, res.why).toBe("/work/dir/deep\ndirectory 755\n");
      expect(statSync(`${bundle}/rootfs/work/dir/deep`).isDirectory()).toBe(true);
      expectSameAsRunc(res);
    });

    // runc's cwd.bats: the cwd is entered while still root, then the user is switched.
    test("a cwd only root can search works for a non-root user (runc: \"can chdir if runc has access\")", () => {
      const res = both(sb, "pwd; ls /tmp; echo ran", (c) => {
        c.process.cwd = "/root";
        c.process.user = { uid: 42, gid: 42 };
      }, { prepare: (b) => chmodSync(`${b}/rootfs/root`, 0o700) });
      expect(res.bunc.stdout, res.why).toBe("/root\nran\n");
      expectSameAsRunc(res);
    });

    test("a cwd the user cannot read at all: the process starts there all the same, as under runc", () => {
      const res = both(sb, "pwd; ls . >/dev/null 2>&1 || echo cannot-list; echo ran", (c) => {
        c.process.cwd = "/secret";
        c.process.user = { uid: 1000, gid: 1000 };
      }, { prepare: (b) => mkdirSync(`${b}/rootfs/secret`, { mode: 0o700 }) });
      expect(res.bunc.stdout, res.why).toBe("/secret\ncannot-list\nran\n");
      expectSameAsRunc(res);
    });

    test.skipIf(!!userNamespaceSkipReason())("a cwd of the user's that root cannot search (user namespace, unmapped group): entered after the switch", () => {
      openSandboxForUserns(sb);
      // Owned by the container's uid 1000 with a group outside the mapping: the
      // namespace's root has no CAP_DAC_OVERRIDE over it (capabilities(7)), uid 1000 owns it.
      const res = both(sb, "pwd; ls; id -u", (c) => {
        setNamespace(c, "user");
        mapUsers(c);
        c.process.cwd = "/mine";
        c.process.user = { uid: 1000, gid: 1000 };
      }, {
        prepare: (b) => {
          mkdirSync(`${b}/rootfs/mine`, { mode: 0o700 });
          writeFileSync(`${b}/rootfs/mine/file`, "");
          sh(["chown", "-R", "101000:50", `${b}/rootfs/mine`]);
        },
      });
      expect(res.bunc.stdout, res.why).toBe("/mine\nfile\n1000\n");
      expectSameAsRunc(res);
    });

    test("exec --user 0 into a container whose cwd only its user can search (runc: \"exec --user with no access to cwd\")", () => {
      for (const tool of RUNC ? (["bunc", "runc"] as const) : (["bunc"] as const)) {
        const id = sb.id();
        const bundle = sb.bundle(["sleep", "300"], (c) => {
          c.process.cwd = "/root";
          c.process.user = { uid: 42, gid: 42 };
        });
        sh(["chown", "42", `${bundle}/rootfs/root`]);
        chmodSync(`${bundle}/rootfs/root`, 0o700);
        const run = (args: string[]) => (tool === "bunc" ? sb.bunc(args) : sb.runc(args));
        expect(run(["run", "-d", "-b", bundle, id]).code).toBe(0);
        const r = run(["exec", "--user", "0", id, "sh", "-c", "pwd; true"]);
        run(["delete", "-f", id]);
        expect({ tool, code: r.code, stdout: r.stdout }, show(r)).toEqual({ tool, code: 0, stdout: "/root\n" });
      }
    });
  });

  describe("user", () => {
    test("stdio is given to the container's uid: a non-root process reopens /dev/stdout, as under runc", () => {
      // The harness's stdout is a file of root's, mode 0644: reopening it needs its owner.
      const res = both(sb, "echo reopened >> /dev/stdout || echo refused", (c) => (c.process.user = { uid: 1000, gid: 1000 }));
      expect(res.bunc.stdout, res.why).toBe("reopened\n");
      expectSameAsRunc(res);
    });

    test("uid, gid and additionalGids: id and /proc/self/status", () => {
      const edit = (c: Config) => (c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20, 1001] });
      const res = both(sb, "id; grep -E '^(Uid|Gid|Groups):' /proc/self/status", edit);
      expect(res.bunc.code, res.why).toBe(0);
      const lines = res.bunc.stdout.split("\n");
      expect(lines[0]).toBe("uid=1000 gid=1001 groups=10,20,1001");
      expect(lines.slice(1, 4).map((l) => l.split(/\s+/).filter(Boolean).join(" "))).toEqual([
        "Uid: 1000 1000 1000 1000",
        "Gid: 1001 1001 1001 1001",
        "Groups: 10 20 1001",
      ]);
      expectSameAsRunc(res);
    });

    test("root without additionalGids has no supplementary groups", () => {
      const res = both(sb, "grep -E '^Groups:' /proc/self/status");
      expect(res.bunc.stdout.trim(), res.why).toBe("Groups:");
      expectSameAsRunc(res);
    });

    test("umask: the config's, and 0022 by default", () => {
      const set = both(sb, "umask; touch /tmp/f; stat -c %a /tmp/f", (c) => {
        c.process.user.umask = 0o027;
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      });
      expect(set.bunc.stdout, set.why).toBe("0027\n640\n");
      expectSameAsRunc(set);
      const unset = both(sb, "umask");
      expect(unset.bunc.stdout, unset.why).toBe("0022\n");
      expectSameAsRunc(unset);
    });
  });

  describe("rlimits", () => {
    test("RLIMIT_NOFILE, RLIMIT_NPROC and RLIMIT_CORE soft and hard", () => {
      const edit = (c: Config) =>
        (c.process.rlimits = [
          { type: "RLIMIT_NOFILE", soft: 512, hard: 1024 },
          { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
          { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
        ]);
      const res = both(sb, "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu; ulimit -c; ulimit -Hc", edit);
      // busybox's ulimit -c counts 512-byte blocks.
      expect(res.bunc.stdout, res.why).toBe("512\n1024\n300\n400\n0\n8\n");
      expectSameAsRunc(res);
    });

    test("an rlimit above the host's hard limit fails (no CAP_SYS_RESOURCE here), as runc", () => {
      const hard = Number(readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+\d+\s+(\d+)/)?.[1]);
      if (!Number.isFinite(hard) || hostCaps().CapEff!.endsWith("ffffff") && (BigInt(`0x${hostCaps().CapEff}`) & (1n << 24n)) !== 0n)
        return console.warn("the host can raise rlimits: skipped");
      const res = both(sb, "ulimit -n", (c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: hard + 1000, hard: hard + 1000 }]));
      expect(res.bunc.code, res.why).not.toBe(0);
      expect(res.bunc.stderr, res.why).toMatch(/RLIMIT_NOFILE/);
      if (res.runc) expect(res.runc.code, res.why).not.toBe(0);
    });
  });

  test("noNewPrivileges true and false: NoNewPrivs in /proc/self/status", () => {
    const on = both(sb, "grep NoNewPrivs /proc/self/status", (c) => (c.process.noNewPrivileges = true));
    expect(on.bunc.stdout.replace(/\s+/g, " ").trim(), on.why).toBe("NoNewPrivs: 1");
    expectSameAsRunc(on);
    const off = both(sb, "grep NoNewPrivs /proc/self/status", (c) => (c.process.noNewPrivileges = false));
    expect(off.bunc.stdout.replace(/\s+/g, " ").trim(), off.why).toBe("NoNewPrivs: 0");
    expectSameAsRunc(off);
  });

  test("oomScoreAdj: /proc/self/oom_score_adj", () => {
    for (const value of [500, 1000]) {
      const res = both(sb, "cat /proc/self/oom_score_adj", (c) => (c.process.oomScoreAdj = value));
      expect(res.bunc.stdout, res.why).toBe(`${value}\n`);
      expectSameAsRunc(res);
    }
    const unset = both(sb, "cat /proc/self/oom_score_adj");
    expect(unset.bunc.stdout, unset.why).toBe(readFileSync("/proc/self/oom_score_adj", "utf8"));
    expectSameAsRunc(unset);
  });

  // `run` lets its setup child share bunc's memory until execve (src/plan/share-memory.ts), and
  // the kernel applies an oom_score_adj write to every process sharing the memory: bunc itself
  // must keep its own value while it waits for the container.
  test("oomScoreAdj of a run container is not also bunc's own", async () => {
    const own = readFileSync("/proc/self/oom_score_adj", "utf8");
    const id = sb.id();
    const bundle = sb.bundle(["sleep", "30"], (c) => (c.process.oomScoreAdj = 321));
    const run = Bun.spawn([BUNC, "--root", sb.root, "run", "-b", bundle, id], { stdout: "ignore", stderr: "pipe" });
    try {
      let pid = 0;
      for (let i = 0; i < 200 && !pid; i++) {
        const r = sb.bunc(["state", id]);
        // Running once it has exec'd sleep (until then its command line is bunc's).
        const p = r.code === 0 ? JSON.parse(r.stdout).pid : 0;
        if (p && readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("sleep\0")) pid = p;
        else await Bun.sleep(25);
      }
      expect(pid, "the container never started").toBeGreaterThan(0);
      expect(readFileSync(`/proc/${pid}/oom_score_adj`, "utf8")).toBe("321\n");
      expect(readFileSync(`/proc/${run.pid}/oom_score_adj`, "utf8")).toBe(own);
    } finally {
      sb.bunc(["kill", id, "KILL"]);
      await run.exited;
    }
  });

  test("oomScoreAdj below the caller's without CAP_SYS_RESOURCE: refused with an error, as runc", () => {
    if ((BigInt(`0x${hostCaps().CapEff}`) & (1n << 24n)) !== 0n) return console.warn("the host has CAP_SYS_RESOURCE: skipped");
    const below = Number(readFileSync("/proc/self/oom_score_adj", "utf8")) - 300;
    if (below < -1000) return console.warn("oom_score_adj already at its minimum: skipped");
    const res = both(sb, "cat /proc/self/oom_score_adj", (c) => (c.process.oomScoreAdj = below));
    expect(res.bunc.code, res.why).not.toBe(0);
    expect(res.bunc.stderr, res.why).toContain("oom_score_adj");
    if (res.runc) expect(res.runc.code, res.why).not.toBe(0);
  });

  describe("capabilities", () => {
    const STATUS = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status";
    type Caps = { bounding?: string[]; effective?: string[]; permitted?: string[]; inheritable?: string[]; ambient?: string[] };
    const or = (...sets: (string[] | undefined)[]) => [...new Set(sets.flatMap((s) => s ?? []))];
    const and = (a: string[] = [], ...rest: (string[] | undefined)[]) => a.filter((x) => rest.every((s) => (s ?? []).includes(x)));

    /**
     * What /proc/self/status shows after execve(2) of a file without file
     * capabilities (capabilities(7)): ambient survives only if permitted and
     * inheritable; root gets bounding | inheritable as permitted and
     * effective, cut down to the permitted set it had when no_new_privs is
     * set; others get the ambient set.
     */
    function expected(caps: Caps, root: boolean, noNewPrivs = true): Record<string, string> {
      const ambient = and(caps.ambient, caps.permitted, caps.inheritable);
      let permitted = ambient;
      if (root) {
        const all = or(caps.bounding, caps.inheritable);
        permitted = or(noNewPrivs ? and(all, caps.permitted) : all, ambient);
      }
      return {
        CapInh: capHex(caps.inheritable),
        CapPrm: capHex(permitted),
        CapEff: capHex(permitted),
        CapBnd: capHex(caps.bounding),
        CapAmb: capHex(ambient),
      };
    }

    const scenarios: [string, Caps, { uid: number; gid: number }, boolean?][] = [
      [
        "runc's default set, root",
        { bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], ambient: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"] },
        { uid: 0, gid: 0 },
      ],
      [
        "five different sets, root",
        {
          bounding: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_KILL"],
          effective: ["CAP_CHOWN", "CAP_KILL"],
          permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"],
          inheritable: ["CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
          ambient: ["CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
        },
        { uid: 0, gid: 0 },
      ],
      [
        "five different sets, root, noNewPrivileges false: permitted becomes bounding | inheritable",
        {
          bounding: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_KILL"],
          effective: ["CAP_CHOWN", "CAP_KILL"],
          permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"],
          inheritable: ["CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
          ambient: ["CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
        },
        { uid: 0, gid: 0 },
        false,
      ],
      [
        "five different sets, uid 1000: only the ambient set survives execve",
        {
          bounding: ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_KILL", "CAP_SYS_PTRACE"],
          effective: ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_KILL"],
          permitted: ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_KILL", "CAP_SYS_PTRACE"],
          inheritable: ["CAP_NET_ADMIN", "CAP_KILL", "CAP_NET_RAW"],
          ambient: ["CAP_NET_ADMIN", "CAP_KILL", "CAP_NET_RAW"],
        },
        { uid: 1000, gid: 1000 },
      ],
      [
        "every capability the host has, root",
        (() => {
          const all = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"];
          return { bounding: all, effective: all, permitted: all, inheritable: all, ambient: all };
        })(),
        { uid: 0, gid: 0 },
      ],
      ["no capabilities at all, root", {}, { uid: 0, gid: 0 }],
      ["bounding only, uid 1000", { bounding: ["CAP_KILL", "CAP_CHOWN"] }, { uid: 1000, gid: 1000 }],
    ];

    for (const [name, caps, user, noNewPrivs = true] of scenarios) {
      test(`${name}: the five sets are as computed and as runc's`, () => {
        const edit = (c: Config) => {
          c.process.capabilities = caps;
          c.process.user = user;
          c.process.noNewPrivileges = noNewPrivs;
        };
        const res = both(sb, STATUS, edit);
        expect(res.bunc.code, res.why).toBe(0);
        expect(parseCaps(res.bunc.stdout), res.why).toEqual(expected(caps, user.uid === 0, noNewPrivs));
        if (res.runc) {
          expect(res.runc.code, res.why).toBe(0);
          expect(parseCaps(res.bunc.stdout), res.why).toEqual(parseCaps(res.runc.stdout));
        }
      });
    }

    test("no capabilities object at all: every set empty, as runc", () => {
      const res = both(sb, STATUS, (c) => delete c.process.capabilities);
      expect(res.bunc.code, res.why).toBe(0);
      expect(parseCaps(res.bunc.stdout), res.why).toEqual(expected({}, true));
      expectSameAsRunc(res);
    });

    test("the capabilities take effect: chown needs CAP_CHOWN, kill -0 of a foreign uid needs CAP_KILL", () => {
      const script = "touch /tmp/f; chown 123 /tmp/f 2>&1 && echo chown-ok; ls -n /tmp/f | awk '{print $3}'";
      const withCap = both(sb, script, (c) => {
        c.process.capabilities = { bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] };
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      });
      expect(withCap.bunc.stdout, withCap.why).toBe("chown-ok\n123\n");
      expectSameAsRunc(withCap);
      const without = both(sb, script, (c) => {
        c.process.capabilities = { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] };
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      });
      expect(without.bunc.stdout, without.why).toBe("chown: /tmp/f: Operation not permitted\n0\n");
      expectSameAsRunc(without);
    });

    test("a capability the host does not have (CAP_SYS_RESOURCE here): same outcome as runc", () => {
      if ((BigInt(`0x${hostCaps().CapBnd}`) & (1n << 24n)) !== 0n) return console.warn("the host has CAP_SYS_RESOURCE: skipped");
      const res = both(sb, STATUS, (c) => (c.process.capabilities = { bounding: ["CAP_KILL", "CAP_SYS_RESOURCE"], effective: ["CAP_KILL", "CAP_SYS_RESOURCE"], permitted: ["CAP_KILL", "CAP_SYS_RESOURCE"] }));
      if (!res.runc) return;
      expect(res.bunc.code === 0, res.why).toBe(res.runc.code === 0);
      if (res.runc.code === 0) expect(parseCaps(res.bunc.stdout), res.why).toEqual(parseCaps(res.runc.stdout));
    });

    test("an unknown capability name is refused with one clear line (runc 1.1 only warns; the spec says MUST error)", () => {
      const res = both(sb, STATUS, (c) => (c.process.capabilities = { bounding: ["CAP_KILL", "CAP_NOT_A_CAP"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] }));
      expect(res.bunc.code, res.why).toBe(1);
      expect(res.bunc.stderr, res.why).toBe('bunc: unknown capability "CAP_NOT_A_CAP" in process.capabilities.bounding\n');
    });
  });

  describe("maskedPaths and readonlyPaths", () => {
    test("a masked file reads empty, a masked directory is empty and read-only (the default masked paths this host has)", () => {
      const files = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"].filter((f) => existsSync(f) && readFileSync(f, "utf8").length > 0);
      if (files.length === 0 || readdirSync("/sys/firmware").length === 0) return console.warn("no default masked path has content on this host: skipped");
      const script = `for f in ${files.join(" ")}; do wc -c < $f; done; ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>&1; true`;
      const res = both(sb, script);
      expect(res.bunc.stdout, res.why).toBe(`${files.map(() => "0\n").join("")}0\ntouch: /sys/firmware/x: Read-only file system\n`);
      expectSameAsRunc(res);
    });

    test("custom masked paths in the rootfs: a file, a directory, and a path that does not exist (ignored)", () => {
      const prepare = (b: string) => {
        writeFileSync(`${b}/rootfs/etc/secret`, "top secret\n");
        mkdirSync(`${b}/rootfs/etc/secretdir`);
        writeFileSync(`${b}/rootfs/etc/secretdir/key`, "k\n");
      };
      const edit = (c: Config) => (c.linux.maskedPaths = ["/etc/secret", "/etc/secretdir", "/does/not/exist"]);
      const res = both(sb, "wc -c < /etc/secret; ls -A /etc/secretdir | wc -l; [ -e /does/not/exist ] || echo absent", edit, { prepare });
      expect(res.bunc.stdout, res.why).toBe("0\n0\nabsent\n");
      expectSameAsRunc(res);
    });

    test("masked files are bound from the container's /dev/null, as runc (not the host's devtmpfs)", () => {
      const res = both(sb, "cat /proc/self/mountinfo");
      expect(res.bunc.code, res.why).toBe(0);
      if (!res.runc) return;
      const view = (s: string) => {
        const m = mountAt(parseMountInfo(s), "/proc/keys");
        return m && { root: m.root, fstype: m.fstype, options: accessOptions(m) };
      };
      expect(view(res.bunc.stdout), res.why).toEqual(view(res.runc.stdout));
    });

    test("readonlyPaths: writing /proc/sys and /proc/irq fails with Read-only file system", () => {
      const script = "{ echo x > /proc/sys/kernel/domainname; } 2>&1; { echo 1 > /proc/irq/default_smp_affinity; } 2>&1; grep -c -E ' /proc/(sys|irq) ro,' /proc/self/mountinfo";
      const res = both(sb, script);
      expect(res.bunc.stdout, res.why).toBe(
        "sh: can't create /proc/sys/kernel/domainname: Read-only file system\nsh: can't create /proc/irq/default_smp_affinity: Read-only file system\n2\n",
      );
      expectSameAsRunc(res);
    });

    test("a custom read-only path in a writable rootfs", () => {
      const edit = (c: Config) => {
        c.root.readonly = false;
        c.linux.readonlyPaths = ["/etc", "/does/not/exist"];
      };
      const res = both(sb, "{ touch /etc/x; } 2>&1; touch /x && echo root-writable", edit);
      expect(res.bunc.stdout, res.why).toBe("touch: /etc/x: Read-only file system\nroot-writable\n");
      expectSameAsRunc(res);
    });

    test("without maskedPaths and readonlyPaths /proc/sys is writable and /proc/kcore is not masked", () => {
      const edit = (c: Config) => {
        c.linux.maskedPaths = [];
        c.linux.readonlyPaths = [];
      };
      const res = both(sb, "echo inside.test > /proc/sys/kernel/domainname && cat /proc/sys/kernel/domainname; grep -c -E ' /proc/(kcore|keys|sys) ' /proc/self/mountinfo; true", edit);
      expect(res.bunc.stdout, res.why).toBe("inside.test\n0\n");
      expectSameAsRunc(res);
    });
  });

  describe("cgroup", () => {
    test("the first instruction of the container already runs in its cgroup (v1 paths end in the id)", () => {
      const id = sb.id();
      const bundle = sb.bundle(["cat", "/proc/self/cgroup"]);
      const r = sb.bunc(["run", "-b", bundle, id]);
      expect(r.code, show(r)).toBe(0);
      const v1 = r.stdout.trim().split("\n").filter((l) => !l.startsWith("0::"));
      expect(v1.length).toBeGreaterThanOrEqual(5);
      for (const line of v1) expect(line).toEndWith(`/${id}`);
    });

    test("a created (not started) container's process is already in its cgroup", () => {
      const id = sb.id();
      const bundle = sb.bundle(["true"]);
      expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
      const pid = sb.state(id).pid;
      const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
      for (const line of lines.filter((l) => /:(memory|pids|cpu,cpuacct|cpu|devices|freezer):/.test(l))) expect(line).toEndWith(`/${id}`);
      const procs = readFileSync(`/sys/fs/cgroup/pids/${id}/cgroup.procs`, "utf8").trim().split("\n");
      expect(procs).toContain(String(pid));
      sb.bunc(["delete", "-f", id]);
    });

    test("the same cgroup lines as runc, the cgroup2 (unified) one included", () => {
      const res = both(sb, "cat /proc/self/cgroup");
      expect(res.bunc.code, res.why).toBe(0);
      if (!res.runc) return;
      const norm = (s: string) => s.replace(/\/c-\d+-\d+$/gm, "/ID");
      expect(norm(res.bunc.stdout), res.why).toBe(norm(res.runc.stdout));
    });

    test("linux.cgroupsPath: the process runs in that cgroup", () => {
      const path = `/bunc-test-${process.pid}/inner`;
      const r = buncRun(sb, "grep -E ':(memory|pids):' /proc/self/cgroup", (c) => (c.linux.cgroupsPath = path));
      expect(r.code, show(r)).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.length).toBe(2);
      for (const line of lines) expect(line).toEndWith(path);
      // run deletes its cgroup on exit.
      expect(existsSync(`/sys/fs/cgroup/pids${path}`)).toBe(false);
      // The parent bunc-test-PID is left (as runc leaves it): remove it in every hierarchy.
      const parents = sh(["find", "/sys/fs/cgroup", "-maxdepth", "4", "-type", "d", "-name", `bunc-test-${process.pid}`]).stdout.split("\n").filter(Boolean);
      for (const p of parents) sh(["rmdir", `${p}/inner`]), sh(["rmdir", p]);
    });
  });

  describe("device cgroup", () => {
    // /dev/fuse (10:229) is not in the default allowed devices and the host itself can open it.
    const hostCanOpenFuse = sh(["sh", "-c", "exec 3</dev/fuse"]).code === 0;
    const withMknod = (c: Config) => {
      const caps = ["CAP_MKNOD", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"];
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
      c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["dev"] });
    };
    const OPEN = "mknod /tmp/fuse c 10 229 && echo mknod-ok; (exec 3</tmp/fuse && echo opened) 2>&1; echo x > /dev/null && echo null-ok";

    test("with the default deny-all rule a node made by mknod cannot be opened; /dev/null can", () => {
      if (!hostCanOpenFuse) return console.warn("the host cannot open /dev/fuse: skipped");
      const res = both(sb, OPEN, withMknod);
      expect(res.bunc.stdout, res.why).toBe("mknod-ok\nsh: can't open /tmp/fuse: Operation not permitted\nnull-ok\n");
      expectSameAsRunc(res);
    });

    test("an allow rule in linux.resources.devices makes that device usable", () => {
      if (!hostCanOpenFuse) return console.warn("the host cannot open /dev/fuse: skipped");
      const edit = (c: Config) => {
        withMknod(c);
        c.linux.resources.devices.push({ allow: true, type: "c", major: 10, minor: 229, access: "rw" });
      };
      const res = both(sb, OPEN, edit);
      expect(res.bunc.stdout, res.why).toBe("mknod-ok\nopened\nnull-ok\n");
      expectSameAsRunc(res);
    });

    test("a device added by linux.devices but not allowed in resources cannot be opened, as runc", () => {
      if (!hostCanOpenFuse) return console.warn("the host cannot open /dev/fuse: skipped");
      const edit = (c: Config) => (c.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 }]);
      const res = both(sb, "(exec 3</dev/fuse && echo opened) 2>&1; true", edit);
      expect(res.bunc.stdout, res.why).toBe("sh: can't open /dev/fuse: Operation not permitted\n");
      expectSameAsRunc(res);
    });

    test("the device cgroup's list is runc's", () => {
      const res = both(sb, "cat /sys/fs/cgroup/devices/devices.list | sort");
      expect(res.bunc.code, res.why).toBe(0);
      expect(res.bunc.stdout).toContain("c 1:3 rwm\n");
      expect(res.bunc.stdout).not.toContain("a *:* rwm");
      expectSameAsRunc(res);
    });
  });
});

