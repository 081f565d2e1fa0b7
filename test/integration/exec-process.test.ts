/**
 * What an exec'd process gets and where it runs: preserved fds and nothing
 * else (CVE-2024-21626), detached exec keeping the caller's stdio, --cgroup
 * sub-cgroups, --pidfd-socket, and the container states exec refuses
 * (stopped, paused without --ignore-paused).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";
import { type Running, show, startLong, stopLong } from "./container-helpers";
import { alive, buncAsync, FdReceiver, PYTHON } from "./exec-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping exec process tests: ${skip}`);

describe.skipIf(!!skip)("exec process", () => {
  const sb = new Sandbox();
  let c: Running;
  beforeAll(() => {
    c = startLong(sb);
  });
  afterAll(() => {
    stopLong(sb, c);
    sb.cleanup();
  });
  const bunc = `${BUNC} --root ${sb.root}`;

  test("only fds 0-2 reach the process; --preserve-fds N passes 3..3+N-1 and no more", () => {
    const plain = sb.bunc(["exec", c.id, "sh", "-c", "ls /proc/$$/fd; true"]);
    expect(plain.stdout, show(plain)).toBe("0\n1\n2\n");
    writeFileSync(`${sb.dir}/three`, "content of fd 3\n");
    const res = sh(["sh", "-c", `exec 3<${sb.dir}/three 4<${sb.dir}/three; ${bunc} exec --preserve-fds 1 ${c.id} sh -c 'ls /proc/$$/fd; cat <&3'`]);
    expect(res.stdout, show(res)).toBe("0\n1\n2\n3\ncontent of fd 3\n");
  });

  test("-d --pid-file: returns at once, the process runs on with the caller's fds 0-2", () => {
    const out = `${sb.dir}/detached.out`;
    const pidFile = `${sb.dir}/detached.pid`;
    const res = sh(["sh", "-c", `${bunc} exec -d --pid-file ${pidFile} ${c.id} sh -c 'echo started; sleep 300' >${out} 2>&1 </dev/null`]);
    expect(res.code, show(res)).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe(out);
    expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe(out);
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe("/dev/null");
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/NSpid:\t\d+\t\d+/); // in the container's pid namespace
    process.kill(pid, 9);
  });

  test("--cgroup: an existing sub-cgroup of one controller, or of all", () => {
    const paths: Record<string, string> = JSON.parse(readFileSync(`${sb.root}/${c.id}/state.json`, "utf8")).cgroupPaths;
    const made: string[] = [];
    try {
      for (const dir of Object.values(paths)) {
        mkdirSync(`${dir}/sub`);
        made.push(`${dir}/sub`);
        if (dir.includes("/cpuset/")) for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(`${dir}/sub/${f}`, readFileSync(`${dir}/${f}`));
      }
      const one = sb.bunc(["exec", "--cgroup", "pids:sub", c.id, "cat", "/proc/self/cgroup"]);
      expect(one.code, show(one)).toBe(0);
      expect(one.stdout).toMatch(/:pids:.*\/sub$/m);
      expect(one.stdout).not.toMatch(/:memory:.*\/sub$/m);
      const all = sb.bunc(["exec", "--cgroup", "sub", c.id, "cat", "/proc/self/cgroup"]);
      expect(all.stdout, show(all)).toMatch(/:pids:.*\/sub$/m);
      expect(all.stdout).toMatch(/:memory:.*\/sub$/m);
      const out = sb.bunc(["exec", "--cgroup", "pids:../..", c.id, "true"]);
      expect(out.code, show(out)).toBe(255);
      expect(out.stderr).toContain("--cgroup: ../.. is not a sub cgroup path");
    } finally {
      for (const d of made.reverse()) rmdirSync(d);
    }
  });

  test.skipIf(!PYTHON)("--pidfd-socket: exec sends a pidfd of the new process (\"setns\")", async () => {
    const rx = await FdReceiver.start(sb.dir, "pidfd");
    const pidFile = `${sb.dir}/pidfd-exec.pid`;
    const res = await buncAsync(sb, ["exec", "-d", "--pid-file", pidFile, "--pidfd-socket", rx.socket, c.id, "sleep", "300"]);
    expect(res.code, show(res)).toBe(0);
    const got = await rx.result();
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(got).toEqual({ name: "setns", fds: 1, pid });
    process.kill(pid, 9);
  });

  test.skipIf(!PYTHON)("--pidfd-socket: the receiver can kill a foreground exec through it", async () => {
    const rx = await FdReceiver.start(sb.dir, "pidfd", "kill");
    const res = await buncAsync(sb, ["exec", "--pidfd-socket", rx.socket, c.id, "sleep", "300"]);
    expect(res.code, show(res)).toBe(137);
    expect((await rx.result())?.name).toBe("setns");
  });

  test.skipIf(!PYTHON)("--pidfd-socket on create and run -d: a pidfd of the container's process (\"standard\")", async () => {
    for (const verb of ["create", "run"]) {
      const rx = await FdReceiver.start(sb.dir, "pidfd");
      const id = sb.id(verb);
      const res = await buncAsync(sb, [verb, ...(verb === "run" ? ["-d"] : []), "--pidfd-socket", rx.socket, "-b", sb.bundle(["sleep", "300"]), id]);
      expect(res.code, show(res)).toBe(0);
      expect(await rx.result()).toEqual({ name: "standard", fds: 1, pid: sb.state(id).pid });
      sb.bunc(["delete", "-f", id]);
    }
  });

  // Joining the container's PID namespace takes one more fork (setns(2): only children enter it).
  // The forking process reports its child's pid; the child must not run ahead of that report,
  // or bunc takes the forking process for the container's: its exit status 0 instead of the
  // command's (podman exec then said 0 for `exit 4` about one time in ten), its pid in --pid-file.
  // strace holds the forking process in clone3's return for 0.2 s: the child is first every time.
  const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));
  test.skipIf(!STRACE)("the process forked into the PID namespace is the one waited for and named in --pid-file, even when it runs first", () => {
    const slow = [STRACE!, "-f", "-qq", "-e", "trace=clone3,execve", "-e", "inject=clone3:delay_exit=200000"];
    const fg = sh([...slow, "-o", "/dev/null", BUNC, "--root", sb.root, "exec", c.id, "sh", "-c", "exit 4"]);
    expect(fg.code, show(fg)).toBe(4);
    const pidFile = `${sb.dir}/slow-fork.pid`;
    const trace = `${sb.dir}/slow-fork.strace`;
    const d = sh([...slow, "-o", trace, BUNC, "--root", sb.root, "exec", "-d", "--pid-file", pidFile, c.id, "true"]);
    expect(d.code, show(d)).toBe(0);
    const execd = readFileSync(trace, "utf8").split("\n").find((l) => l.includes('execve("/bin/true"'));
    expect(execd, "strace saw the exec of /bin/true").toBeDefined();
    expect(readFileSync(pidFile, "utf8").trim()).toBe(execd!.split(" ")[0]!);
  });

  test("a pidfd socket that does not exist: clear error, nothing left behind", () => {
    const id = sb.id("nopidfd");
    const res = sb.bunc(["run", "-d", "--pidfd-socket", `${sb.dir}/no-such-socket`, "-b", sb.bundle(["sleep", "300"]), id]);
    expect(res.code, show(res)).toBe(1);
    expect(res.stderr).toMatch(/connect to pidfd socket .*no-such-socket: no such file or directory/);
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids/${id}`)).toBe(false);
    const ex = sb.bunc(["exec", "--pidfd-socket", `${sb.dir}/no-such-socket`, c.id, "true"]);
    expect(ex.code, show(ex)).toBe(255);
  });

  test("exec into a stopped container is refused", () => {
    const id = sb.id("stopped");
    expect(sb.bunc(["run", "-d", "-b", sb.bundle(["true"]), id]).code).toBe(0);
    for (let i = 0; i < 50 && sb.state(id).status !== "stopped"; i++) Bun.sleepSync(20);
    const res = sb.bunc(["exec", id, "true"]);
    expect(res.code, show(res)).toBe(255);
    expect(res.stderr).toContain(`cannot exec in a stopped container ${id}`);
  });

  test.skipIf(!existsSync("/sys/fs/cgroup/freezer"))("exec into a paused (frozen) container is refused without --ignore-paused", () => {
    const state = `/sys/fs/cgroup/freezer/${c.id}/freezer.state`;
    writeFileSync(state, "FROZEN");
    try {
      for (let i = 0; i < 50 && readFileSync(state, "utf8").trim() !== "FROZEN"; i++) Bun.sleepSync(20);
      const res = sb.bunc(["exec", c.id, "true"]);
      expect(res.code, show(res)).toBe(255);
      expect(res.stderr).toContain(`cannot exec in a paused container ${c.id} (use --ignore-paused to override)`);
    } finally {
      writeFileSync(state, "THAWED");
    }
    expect(sb.bunc(["exec", c.id, "true"]).code).toBe(0);
  });

  test.skipIf(!existsSync("/sys/fs/cgroup/freezer"))("exec --ignore-paused -d into a paused container: the process joins it frozen and runs after resume", () => {
    const marker = `/dev/shm/ignore-paused-${c.id}`;
    expect(sb.bunc(["pause", c.id]).code).toBe(0);
    try {
      expect(sb.state(c.id).status).toBe("paused");
      const res = sb.bunc(["exec", "--ignore-paused", "-d", c.id, "sh", "-c", `touch ${marker}`]);
      expect(res.code, show(res)).toBe(0);
      Bun.sleepSync(200);
      // Frozen with the rest of the container: it has not run yet.
      expect(sb.bunc(["exec", c.id, "test", "-e", marker]).code).toBe(255);
    } finally {
      expect(sb.bunc(["resume", c.id]).code).toBe(0);
    }
    let seen = 1;
    for (let i = 0; i < 50 && seen !== 0; i++, Bun.sleepSync(20)) seen = sb.bunc(["exec", c.id, "test", "-e", marker]).code;
    expect(seen).toBe(0);
  });
});
