/**
 * `bunc exec` into a running container, checked from inside: each flag
 * (user, groups, cwd, env, caps, no_new_privs), the namespaces (equal to the
 * init's), -p process.json, flag parsing that stops after the id, exit
 * status passthrough, and the same commands under runc for the same bundle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { integrationSkipReason, RUNC, Sandbox } from "../harness";
import { type Running, show, startLong, stopLong } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping exec flag tests: ${skip}`);

describe.skipIf(!!skip)("exec", () => {
  const sb = new Sandbox();
  let c: Running;
  let runcId: string | undefined;
  beforeAll(() => {
    c = startLong(sb);
    if (RUNC) {
      runcId = sb.id("runc");
      const r = sb.runc(["run", "-d", "-b", c.bundle, runcId]);
      if (r.code !== 0) throw new Error(`runc run -d: ${show(r)}`);
    }
  });
  afterAll(() => {
    stopLong(sb, c);
    sb.cleanup();
  });

  /** exec under bunc, and with runc into its container from the same bundle. */
  const both = (args: string[]) => {
    const b = sb.bunc(["exec", ...args.map((a) => (a === "ID" ? c.id : a))]);
    const r = runcId ? sb.runc(["exec", ...args.map((a) => (a === "ID" ? runcId! : a))]) : undefined;
    return { b, r, why: `bunc: ${show(b)}\nrunc: ${show(r)}` };
  };

  test("the config's process by default: id, cwd, env, capabilities, no_new_privs as runc", () => {
    const { b, r, why } = both(["ID", "sh", "-c", "id; pwd; env | sort; grep -E '^(Cap|NoNewPrivs)' /proc/self/status"]);
    expect(b.code, why).toBe(0);
    expect(b.stdout, why).toContain("uid=0(root) gid=0(root)");
    expect(b.stdout, why).toContain("NoNewPrivs:\t1");
    if (r) expect(b.stdout, why).toBe(r.stdout);
  });

  test("-u -g --cwd -e --cap --no-new-privs, each seen inside, as runc", () => {
    const { b, r, why } = both(["-u", "1000:1000", "-g", "5", "-g", "7", "--cwd", "/tmp", "-e", "FOO=bar", "-e", "PATH=/bin", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", "ID", "sh", "-c", "id; pwd; echo $FOO $PATH; grep -E '^(Cap|NoNewPrivs)' /proc/self/status"]);
    expect(b.code, why).toBe(0);
    expect(b.stdout, why).toContain("uid=1000 gid=1000 groups=5(tty),7\n/tmp\nbar /bin\n");
    expect(b.stdout, why).toMatch(/CapBnd:\t0000000020200420/); // the default set + CAP_SYS_ADMIN (21)
    if (r) expect(b.stdout, why).toBe(r.stdout);
  });

  test("a user name is looked up in the container's /etc/passwd", () => {
    const res = sb.bunc(["exec", "-u", "nobody", c.id, "id"]);
    expect(res.stdout, show(res)).toBe("uid=65534(nobody) gid=65534(nogroup)\n");
  });

  test("every namespace is the init's", () => {
    const script = "for n in cgroup ipc mnt net pid time user uts; do [ \"$(readlink /proc/1/ns/$n)\" = \"$(readlink /proc/self/ns/$n)\" ] && echo same $n || echo DIFFERENT $n; done";
    const res = sb.bunc(["exec", c.id, "sh", "-c", script]);
    expect(res.stdout, show(res)).toBe(["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"].map((n) => `same ${n}\n`).join(""));
    // And from the host: the exec'd process's namespaces are the container's, not ours.
    const host = sb.bunc(["exec", c.id, "readlink", "/proc/self/ns/mnt"]);
    expect(host.stdout.trim()).toBe(readlinkSync(`/proc/${c.pid}/ns/mnt`));
  });

  test("flag parsing stops at the first argument after the id", () => {
    const res = sb.bunc(["exec", c.id, "printf", "%s\\n", "-t", "--cwd", "/x", "-e"]);
    expect(res.code, show(res)).toBe(0);
    expect(res.stdout).toBe("-t\n--cwd\n/x\n-e\n");
    const ls = sb.bunc(["exec", c.id, "ls", "-la", "/"]);
    expect(ls.stdout, show(ls)).toMatch(/^d.* \.\.?$/m);
  });

  test("the exit status passes through: 7 → 7, SIGKILL → 137, as runc", () => {
    const { b, r, why } = both(["ID", "sh", "-c", "exit 7"]);
    expect(b.code, why).toBe(7);
    if (r) expect(r.code, why).toBe(7);
    const k = both(["ID", "sh", "-c", "kill -9 $$"]);
    expect(k.b.code, k.why).toBe(137);
    if (k.r) expect(k.r.code, k.why).toBe(137);
    // A quick process that is gone before bunc looks at it is still waited for.
    for (let i = 0; i < 5; i++) expect(sb.bunc(["exec", c.id, "true"]).code).toBe(0);
  });

  test("-p process.json: args, env, cwd and user from the file, as runc", () => {
    const file = `${sb.dir}/process.json`;
    writeFileSync(file, JSON.stringify({ args: ["sh", "-c", "id -u; pwd; echo $A"], env: ["A=from-json", "PATH=/bin"], cwd: "/etc", user: { uid: 4, gid: 5 } }));
    const { b, r, why } = both(["-p", file, "ID"]);
    expect(b.stdout, why).toBe("4\n/etc\nfrom-json\n");
    if (r) expect(b.stdout, why).toBe(r.stdout);
  });

  test("bad input: one clear line, exit 255 as runc, nothing started", () => {
    const procs = () => readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, "utf8");
    const before = procs();
    const file = `${sb.dir}/bad-process.json`;
    const cases: [string[], RegExp][] = [
      [["-p", file, c.id], /process\.json: args/],
      [["-u", "bob", c.id, "id"], /unable to find user bob/],
      [[c.id, "no-such-program"], /executable file not found/],
      [["no-such-container", "true"], /does not exist/],
      [[c.id], /no command/],
      [["--cgroup", "pids:no-such-sub", c.id, "true"], /sub-cgroup no-such-sub does not exist/],
    ];
    writeFileSync(file, JSON.stringify({ args: "sh", cwd: "/" }));
    for (const [args, message] of cases) {
      const res = sb.bunc(["exec", ...args]);
      expect(res.code, show(res)).toBe(255);
      expect(res.stderr, show(res)).toMatch(message);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(procs()).toBe(before);
  });
});
