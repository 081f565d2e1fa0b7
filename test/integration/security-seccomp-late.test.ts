/**
 * What the executor does after the seccomp filter is loaded (with
 * noNewPrivileges false the filter comes before the user switch, as runc
 * orders it) must not depend on the profile allowing it: strace lists those
 * syscalls for create/start, run, exec, terminals and hooks; each one that a
 * real profile may refuse is refused (EPERM and ENOSYS) and the container
 * must still start. Then real profiles: podman's as it stood before Linux
 * 5.3's syscalls (no clone3, close_range, openat2: the shape of Docker's and
 * Kubernetes' defaults of 2019–2020) and podman's without close_range, under
 * bunc and runc. No runtime fd may reach the container meanwhile (CVE-2024-21626).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh, type Result } from "../harness";
import { show } from "./container-helpers";
import { containerdProfile, DOCKER_DEFAULT_CAPS, DOCKER_OLD_PROFILE, DOCKER_PROFILE, engineProfile, NEWER_THAN_5_2, PODMAN_DEFAULT_CAPS, PODMAN_PROFILE, podmanProfile, without } from "./seccomp-profiles";

const skip = integrationSkipReason();
if (skip) console.log(`skip security-seccomp-late: ${skip}`);
// --decode-pids=pidns (strace 5.19): a hook forked in the container's PID namespace is found by its host pid.
const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p) && sh([p, "--decode-pids=pidns", "-o", "/dev/null", "true"]).code === 0);
if (!skip && !STRACE) console.warn("security-seccomp-late: no strace with --decode-pids=pidns: the audit of the syscalls after the filter is skipped");
const sb = new Sandbox();
afterAll(() => sb.cleanup());

type Seccomp = Record<string, unknown>;
type Tool = "bunc" | "runc";

/** A runtime command, optionally under strace -ff (one output file per process, prefix `trace`). */
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p));
let ttyRuns = 0;

/**
 * A runtime command (under strace when trace is given). With tty, in a session whose controlling
 * terminal script(1) makes, stdio redirected to files: a foreground terminal needs a terminal of
 * the runtime's own, as runc's does.
 */
function runtime(tool: Tool, args: string[], opts: { trace?: string; stdin?: string; tty?: boolean } = {}): Result {
  const runtimeCmd = tool === "bunc" ? [BUNC, "--root", sb.root, ...args] : [RUNC!, "--root", `${sb.dir}/runc-state`, ...args];
  const cmd = opts.trace ? [STRACE!, "-f", "-ff", "--decode-pids=pidns", "-o", opts.trace, ...runtimeCmd] : runtimeCmd;
  if (!opts.tty) return sh(cmd, { stdin: opts.stdin, timeoutMs: 60_000 });
  const base = `${sb.dir}/tty-${++ttyRuns}`;
  writeFileSync(`${base}.in`, opts.stdin ?? "");
  const q = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
  sh([SCRIPT!, "-qec", `${cmd.map(q).join(" ")} < ${base}.in > ${base}.out 2> ${base}.err; echo $? > ${base}.rc`, "/dev/null"], { timeoutMs: 60_000 });
  const read = (ext: string) => (existsSync(`${base}.${ext}`) ? readFileSync(`${base}.${ext}`, "utf8") : "");
  return { code: Number(read("rc").trim() || 255), stdout: read("out"), stderr: read("err") };
}

/** bunc create under strace -f, which goes on tracing the container's process: returns once it is created; done() waits for the trace to end. */
function tracedInBackground(args: string[], trace: string): Result & { done?: () => void } {
  const out = `${trace}.out`;
  const r = sh(["sh", "-c", `${STRACE} -f -ff --decode-pids=pidns -o ${trace} ${BUNC} --root ${sb.root} ${args.join(" ")} > ${out} 2>&1 & echo $!`]);
  const pid = Number(r.stdout.trim());
  const id = args.at(-1)!;
  for (let i = 0; i < 500 && !(existsSync(`${sb.root}/${id}/state.json`) && sb.bunc(["state", id]).stdout.includes('"created"')); i++) Bun.sleepSync(20);
  const state = sb.bunc(["state", id]);
  const done = () => {
    for (let i = 0; i < 1500 && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"); i++) Bun.sleepSync(20);
  };
  return { code: state.code === 0 && state.stdout.includes('"created"') ? 0 : 1, stdout: "", stderr: existsSync(out) ? readFileSync(out, "utf8") : "", done } as Result & { done: () => void };
}

/** The same user, capabilities and no_new_privs as a container whose profile is under test. */
const base = (seccomp: Seccomp, nnp: boolean) => (c: Record<string, any>) => {
  c.process.terminal = false;
  c.process.noNewPrivileges = nnp;
  c.process.user = { uid: 1000, gid: 1000 };
  c.root.readonly = false;
  c.linux.seccomp = seccomp;
};

interface Scenario {
  name: string;
  /** Start a container with this profile (its process prints "ok"); the reason it did not, or undefined. */
  run(seccomp: Seccomp, tool: Tool, trace?: string): string | undefined;
}

const expectOk = (r: Result, want = "ok\n"): string | undefined => (r.code === 0 && r.stdout === want ? undefined : show(r));

interface RunOpts {
  edit?: (c: Record<string, any>) => void;
  prepare?: (bundle: string) => void;
  stdin?: string;
  /** The runtime on a controlling terminal of its own (script(1)). */
  tty?: boolean;
}

/** run: the container's process prints ok. */
const runScenario = (name: string, nnp: boolean, o: RunOpts = {}): Scenario => ({
  name,
  run(seccomp, tool, trace) {
    const bundle = sb.bundle(["sh", "-c", "echo ok"], (c) => {
      base(seccomp, nnp)(c);
      o.edit?.(c);
    });
    o.prepare?.(bundle);
    return expectOk(runtime(tool, ["run", "-b", bundle, sb.id()], { trace, stdin: o.stdin, tty: o.tty }));
  },
});

/** create, then start under trace: the process and a startContainer hook (in the container) each write a file. */
const hookScenario: Scenario = {
  name: "create and start, a startContainer hook, noNewPrivileges false",
  run(seccomp, tool, trace) {
    const id = sb.id();
    const bundle = sb.bundle(["sh", "-c", "echo ok > /tmp/process.out"], (c) => {
      base(seccomp, false)(c);
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "grep -q '\"status\":\"created\"' && echo hook > /tmp/hook.out"], timeout: 30 }] };
    });
    chmodSync(`${bundle}/rootfs/tmp`, 0o1777); // the process and the hook run as uid 1000
    // strace -f follows the container's process, which waits for start: it runs in the background.
    const created: Result & { done?: () => void } = trace ? tracedInBackground(["create", "-b", bundle, id], trace) : runtime(tool, ["create", "-b", bundle, id]);
    if (created.code !== 0) return show(created);
    const started = runtime(tool, ["start", id], { trace: trace && `${trace}-start` });
    if (started.code !== 0) return show(started);
    const out = (f: string) => (existsSync(`${bundle}/rootfs/tmp/${f}`) ? readFileSync(`${bundle}/rootfs/tmp/${f}`, "utf8") : "");
    for (let i = 0; i < 200 && !out("process.out"); i++) Bun.sleepSync(20);
    created.done?.();
    runtime(tool, ["delete", "-f", id]);
    return out("process.out") === "ok\n" && out("hook.out") === "hook\n" ? undefined : `process: ${JSON.stringify(out("process.out"))}, hook: ${JSON.stringify(out("hook.out"))}`;
  },
};

/** A startContainer hook that outlives its timeout is killed, and the container fails (in seconds, not after the hook's 300). */
const hookTimeoutScenario: Scenario = {
  name: "a startContainer hook that times out is killed",
  run(seccomp, tool, trace) {
    const bundle = sb.bundle(["sh", "-c", "echo ok"], (c) => {
      base(seccomp, false)(c);
      c.hooks = { startContainer: [{ path: "/bin/sleep", args: ["sleep", "300"], timeout: 1 }] };
    });
    const started = Date.now();
    const r = runtime(tool, ["run", "-b", bundle, sb.id()], { trace });
    const fast = Date.now() - started < 30_000;
    return r.code !== 0 && r.stdout === "" && fast ? undefined : `not killed in time: ${show(r)}`;
  },
};

/** exec into a running container (started without trace) as uid 1000. */
const execScenario = (name: string, flags: string[], want = "ok\n"): Scenario => ({
  name,
  run(seccomp, tool, trace) {
    const id = sb.id();
    const bundle = sb.bundle(["sleep", "300"], base(seccomp, false));
    const started = runtime(tool, ["run", "-d", "-b", bundle, id]);
    if (started.code !== 0) return show(started);
    try {
      return expectOk(runtime(tool, ["exec", ...flags, id, "sh", "-c", "echo ok"], { trace, stdin: "", tty: flags.includes("-t") }), want);
    } finally {
      runtime(tool, ["delete", "-f", id]);
    }
  },
});

const SCENARIOS: Scenario[] = [
  runScenario("run, noNewPrivileges false, uid 1000", false),
  runScenario("run, noNewPrivileges true, uid 1000", true),
  runScenario("run -t in the foreground, noNewPrivileges false", false, { edit: (c) => (c.process.terminal = true), stdin: "", tty: true }),
  runScenario("run as uid 1000 in a cwd only root can search", false, { edit: (c) => (c.process.cwd = "/root"), prepare: (b) => chmodSync(`${b}/rootfs/root`, 0o700) }),
  hookScenario,
  hookTimeoutScenario,
  execScenario("exec, uid 1000", []),
  execScenario("exec -t in the foreground, uid 1000", ["-t"]),
];

/**
 * Syscalls made after the filter that a container cannot do without, as
 * runc cannot (its own init makes each after its filter, or fails closed
 * the same way): they are in every real profile, the pre-5.3 ones included.
 */
const ESSENTIAL: Record<string, string> = {
  execve: "starts the container's process (and a hook)",
  read: "the sync socket",
  write: "the sync socket, the exec fifo",
  openat: "the program lookup and the exec fifo",
  prctl: "the bounding set, keep-caps, ambient capabilities, the parent-death signal: refused, the container must not start",
  capset: "the capabilities: refused, the container must not start",
  setgroups: "the user switch: refused, the container must not start",
  chdir: "the cwd (runc's finalizeNamespace chdirs after its filter too)",
  getcwd: "the check that the cwd is inside the container (runc's verifyCwd): refused, the container must not start",
  lseek: "a hook's state on stdin is read from the start",
  exit_group: "a hook's child that cannot exec",
};

/** Each process that loaded a filter (and each it forked after): the syscall names it made after the filter until its execve. */
function afterFilter(dir: string, prefix: string): Set<string> {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}.`));
  const lines = (pid: string) => (files.includes(`${prefix}.${pid}`) ? readFileSync(`${dir}/${prefix}.${pid}`, "utf8").split("\n") : []);
  const names = new Set<string>();
  const walk = (text: string[], from: number) => {
    for (let i = from; i < text.length; i++) {
      const m = /^([a-z0-9_]+)\(.*\)\s+= (-?\d+|\?)(?: \/\* (\d+) in strace's PID NS \*\/)?/.exec(text[i]!);
      if (!m) continue;
      names.add(m[1]!);
      if ((m[1] === "clone3" || m[1] === "clone") && Number(m[2]) > 0) walk(lines(m[3] ?? m[2]!), 0);
      if (m[1] === "execve" && m[2] === "0") return;
    }
  };
  for (const f of files) {
    const text = readFileSync(`${dir}/${f}`, "utf8").split("\n");
    const at = text.findIndex((l) => /^seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=.*\)\s+= \d+$/.test(l));
    if (at >= 0) walk(text, at + 1);
  }
  return names;
}

const audit = new Map<string, Set<string>>();

describe.skipIf(!!skip || !STRACE)("after the seccomp filter: every syscall a profile may refuse has a fallback", () => {
  // The audit's own profile refuses nothing the executor uses.
  const harmless: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["acct"], action: "SCMP_ACT_ERRNO" }] };

  for (const s of SCENARIOS) {
    test(`${s.name}: the syscalls after the filter, each refused with EPERM and with ENOSYS`, () => {
      const n = audit.size;
      const prefix = `trace-${n}`;
      const why = s.run(harmless, "bunc", `${sb.dir}/${prefix}`);
      expect(why).toBeUndefined();
      const seen = new Set([...afterFilter(sb.dir, prefix), ...afterFilter(sb.dir, `${prefix}-start`)]);
      expect(seen.size, "no syscall seen after the filter: the trace missed it").toBeGreaterThan(0);
      audit.set(s.name, seen);
      const refusable = [...seen].filter((name) => !(name in ESSENTIAL)).sort();
      const failures: string[] = [];
      for (const name of refusable) {
        for (const errnoRet of [1, 38]) {
          const why = s.run({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [name], action: "SCMP_ACT_ERRNO", errnoRet }] }, "bunc");
          if (why) failures.push(`${name} refused with ${errnoRet === 1 ? "EPERM" : "ENOSYS"}: ${why}`);
        }
      }
      expect(failures, `refused one by one: ${refusable.join(" ")}`).toEqual([]);
    });
  }

  test.skipIf(!existsSync(PODMAN_PROFILE))("the syscalls that cannot be refused are all in podman's profile as it stood before Linux 5.3", () => {
    const old = oldProfile();
    const allowed = new Set((old.syscalls as { names: string[]; args?: unknown[] }[]).filter((r) => !r.args?.length).flatMap((r) => r.names));
    const essentialSeen = [...new Set([...audit.values()].flatMap((s) => [...s]))].filter((n) => n in ESSENTIAL);
    expect(essentialSeen.length).toBeGreaterThan(0);
    expect(essentialSeen.filter((n) => !allowed.has(n))).toEqual([]);
  });
});

/** podman's profile as it would have been before Linux 5.3 (no clone3, close_range, openat2, pidfd_*, faccessat2…): the shape of Docker's and Kubernetes' defaults of 2019–2020. */
const oldProfile = (): Seccomp => without(podmanProfile(PODMAN_DEFAULT_CAPS), NEWER_THAN_5_2);
/** podman's profile (containers-common) as podman makes it for x86_64 and its default capabilities, close_range taken out. */
const podmanWithoutCloseRange = (): Seccomp => without(podmanProfile(PODMAN_DEFAULT_CAPS), ["close_range"]);

describe.skipIf(!!skip)("real profiles older than the executor's syscalls", () => {
  // containerd's, as a private containerd makes it (seccomp-profiles.ts), taken once for the file.
  let fromContainerd: Seccomp | undefined;
  beforeAll(async () => {
    fromContainerd = (await containerdProfile())?.profile as Seccomp | undefined;
    if (!fromContainerd) console.warn("containerd or ctr is not installed: containerd's profile is not tried");
  }, 120_000);
  const profiles: [string, () => Seccomp, boolean | (() => boolean)][] = [
    ["podman's profile before Linux 5.3's syscalls", oldProfile, existsSync(PODMAN_PROFILE)],
    ["podman's profile without close_range", podmanWithoutCloseRange, existsSync(PODMAN_PROFILE)],
    // Docker's own, from Debian's package (scripts/install-deps.sh): 20.10's (close_range, clone3 is ENOSYS) and its 2016 one (nothing after Linux 4.5).
    ["Docker 20.10's default profile", () => engineProfile(DOCKER_PROFILE, DOCKER_DEFAULT_CAPS) as Seccomp, existsSync(DOCKER_PROFILE)],
    ["Docker's old-format default profile", () => engineProfile(DOCKER_OLD_PROFILE, DOCKER_DEFAULT_CAPS) as Seccomp, existsSync(DOCKER_OLD_PROFILE)],
    ["containerd's default profile", () => fromContainerd!, () => fromContainerd !== undefined],
  ];
  for (const [what, profile, present] of profiles) {
    if (present === false) console.warn(`${what}: not installed (scripts/install-deps.sh), its tests are skipped`);
    for (const s of SCENARIOS) {
      test.skipIf(present === false)(`${what}: ${s.name}`, () => {
        if (typeof present === "function" && !present()) return;
        expect(s.run(profile(), "bunc")).toBeUndefined();
      });
    }
  }

  for (const [what, profile, present] of profiles)
    test.skipIf(present === false)(`runc starts the same containers under ${what}`, () => {
      if (typeof present === "function" && !present()) return;
      if (!RUNC) return console.warn("runc is not installed: comparison skipped");
      // run and exec without a terminal: runc's own foreground terminal keeps ONLCR until it attaches.
      for (const s of [SCENARIOS[0]!, SCENARIOS[1]!, hookScenario, execScenario("exec, uid 1000", [])]) expect({ s: s.name, why: s.run(profile(), "runc") }).toEqual({ s: s.name, why: undefined });
    });

  test("close_range refused: no runtime fd reaches the container, preserved fds do (CVE-2024-21626)", () => {
    for (const errnoRet of [1, 38]) {
      const seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["close_range"], action: "SCMP_ACT_ERRNO", errnoRet }] };
      for (const preserve of [0, 1]) {
        const id = sb.id();
        const bundle = sb.bundle(["sleep", "300"], base(seccomp, false));
        const r = sh(["sh", "-c", `exec 3</dev/null; ${BUNC} --root ${sb.root} run -d --preserve-fds ${preserve} -b ${bundle} ${id}`]);
        expect(r.code, show(r)).toBe(0);
        const pid = sb.state(id).pid;
        // run -d returns once start has opened the FIFO; the process may still be on its way to execve.
        for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "sleep"; i++) Bun.sleepSync(10);
        expect(readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b)).toEqual(preserve ? [0, 1, 2, 3] : [0, 1, 2]);
        const ex = sb.bunc(["exec", id, "sh", "-c", "ls /proc/self/fd"]);
        expect(ex.stdout, show(ex)).toBe("0\n1\n2\n3\n"); // 3: ls's own directory fd
        sb.bunc(["delete", "-f", id]);
      }
    }
  });
});
