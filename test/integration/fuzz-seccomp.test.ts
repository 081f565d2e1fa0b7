/**
 * Seccomp fuzzing (issue 14): podman's default profile, the same profile as
 * it stood before Linux 5.3's syscalls, Docker 20.10's default and Docker's
 * old-format one (Debian's package, scripts/install-deps.sh), containerd's as
 * containerd makes it (seccomp-profiles.ts), with random syscalls removed or
 * given EPERM, ENOSYS or KILL — biased towards what a runtime calls between
 * loading the filter and execve — and noNewPrivileges true or false (false
 * loads the filter before the last privileged steps). Each profile runs under
 * bunc and under runc: where runc's container runs, bunc's must run and say
 * the same; wherever bunc fails, the failure is the container's own program
 * (its exit status) or its execve — never one of bunc's own setup steps where
 * runc got as far as the container's program.
 * Seed BUNC_FUZZ_SEED (default 11), count BUNC_FUZZ_SECCOMP_RUNS (default 60).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { cgroupDirsOf } from "./cli-helpers";
import { buncRun, show } from "./container-helpers";
import { containerdProfile, DOCKER_DEFAULT_CAPS, DOCKER_OLD_PROFILE, DOCKER_PROFILE, engineProfile, NEWER_THAN_5_2, PODMAN_DEFAULT_CAPS, PODMAN_PROFILE, podmanProfile, without } from "./seccomp-profiles";

const skip = integrationSkipReason() ?? (existsSync(PODMAN_PROFILE) ? undefined : `${PODMAN_PROFILE} is missing (containers-common)`) ?? (RUNC ? undefined : "runc is not installed");
if (skip) console.warn(`skipping the seccomp fuzzer: ${skip}`);
const RUNS = Number(process.env.BUNC_FUZZ_SECCOMP_RUNS ?? 60);
const SEED = Number(process.env.BUNC_FUZZ_SEED ?? 11);
/** BUNC_FUZZ_LOG=FILE: a line per profile tried (what changed, how each runtime ended), to follow a long run. */
const LOG = process.env.BUNC_FUZZ_LOG;

/** What a runtime may call after the filter is loaded (runc's and bunc's last steps), and common others. */
const LATE = ["close_range", "close", "fcntl", "getdents64", "openat", "open", "fstat", "newfstatat", "statx", "execve", "execveat", "capset", "capget", "prctl",
  "setgroups", "setresuid", "setresgid", "setuid", "setgid", "chdir", "fchdir", "getcwd", "write", "read", "readlink", "sendmsg", "recvmsg", "rt_sigprocmask",
  "rt_sigaction", "ioctl", "dup2", "dup3", "fchown", "umask", "setsid", "exit_group", "wait4", "waitid", "kill", "clone", "clone3", "pidfd_send_signal", "getpid", "poll", "ppoll"];

/**
 * runc killed past its time leaves its init (runc:[2:INIT], stuck) and cgroups without a
 * state dir, so `runc delete -f` does not know them (the leak checker found them): kill what is
 * in the container's cgroups, then remove them, deepest first.
 */
function reapHungRunc(id: string): void {
  const dirs = cgroupDirsOf(id);
  const procs = () => dirs.flatMap((d) => (existsSync(`${d}/cgroup.procs`) ? readFileSync(`${d}/cgroup.procs`, "utf8").split("\n").filter(Boolean) : []));
  const end = Date.now() + 5000;
  for (let left = procs(); left.length > 0 && Date.now() < end; left = procs()) {
    for (const pid of left) sh(["kill", "-9", pid]);
    Bun.sleepSync(20);
  }
  for (const d of dirs.sort((a, b) => b.length - a.length)) sh(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]);
}

describe.skipIf(!!skip)("seccomp fuzzing", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  // Found by the 500-profile run (profile 431): runc calls setuid/setgid, bunc called setres[ug]id
  // first, and a profile that KILLs those killed bunc's container before execve.
  test("podman's profile with setresuid and setresgid KILLed, noNewPrivileges false, uid 1000: runs, as under runc", () => {
    const profile = without(podmanProfile(PODMAN_DEFAULT_CAPS), ["setresuid", "setresgid"]);
    profile.syscalls.push({ names: ["setresuid", "setresgid"], action: "SCMP_ACT_KILL" });
    const edit = (config: Record<string, any>) => {
      config.linux.seccomp = profile;
      config.process.noNewPrivileges = false;
      config.process.user = { uid: 1000, gid: 1000 };
    };
    const b = buncRun(sb, "echo ran", edit, { timeoutMs: 10_000 });
    const r = sb.runc(["run", "-b", sb.bundle(["sh", "-c", "echo ran"], edit), sb.id("runc")], { timeoutMs: 10_000 });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "ran\n" });
    expect(b.stdout, show(b)).toBe("ran\n");
    expect(b.code).toBe(0);
  });

  test(`${RUNS} mutated profiles (seed ${SEED}): bunc runs what runc runs, and never fails in its own steps`, async () => {
    const base = podmanProfile(PODMAN_DEFAULT_CAPS);
    // Real profiles, each with the capabilities its engine made it for: podman's, the same before
    // Linux 5.3's syscalls, Docker 20.10's default and its old one, containerd's as containerd makes it.
    const profiles: { name: string; profile: Record<string, any>; caps: string[] }[] = [
      { name: "podman", profile: base, caps: PODMAN_DEFAULT_CAPS },
      { name: "podman before 5.3", profile: without(base, NEWER_THAN_5_2), caps: PODMAN_DEFAULT_CAPS },
    ];
    for (const [name, file] of [["docker 20.10", DOCKER_PROFILE], ["docker old format", DOCKER_OLD_PROFILE]] as const)
      if (existsSync(file)) profiles.push({ name, profile: engineProfile(file, DOCKER_DEFAULT_CAPS), caps: DOCKER_DEFAULT_CAPS });
      else console.warn(`seccomp fuzzing without ${name}'s profile: ${file} is missing (scripts/install-deps.sh)`);
    const fromContainerd = await containerdProfile();
    if (fromContainerd) profiles.push({ name: "containerd", ...fromContainerd });
    else console.warn("seccomp fuzzing without containerd's profile: containerd or ctr is not installed");
    const allowed: string[] = [...new Set<string>(profiles.flatMap((p) => p.profile.syscalls.filter((r: any) => r.action === "SCMP_ACT_ALLOW").flatMap((r: any) => r.names as string[])))];
    const names = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...LATE) }, { weight: 1, arbitrary: fc.constantFrom(...allowed) });
    const change = fc.record({ names: fc.uniqueArray(names, { minLength: 1, maxLength: 4 }), action: fc.constantFrom("remove", "EPERM", "ENOSYS", "KILL") });
    const attempt = fc.record({ which: fc.integer({ min: 0, max: profiles.length - 1 }), noNewPrivileges: fc.boolean(), changes: fc.array(change, { minLength: 1, maxLength: 2 }) });
    const tried = new Map<string, number>();
    let same = 0;
    let bothFail = 0;

    fc.assert(
      fc.property(attempt, ({ which, noNewPrivileges, changes }) => {
        const { name, caps } = profiles[which]!;
        tried.set(name, (tried.get(name) ?? 0) + 1);
        let profile = profiles[which]!.profile;
        for (const c of changes) {
          profile = without(profile, c.names);
          if (c.action === "EPERM" || c.action === "ENOSYS") profile.syscalls.push({ names: c.names, action: "SCMP_ACT_ERRNO", errnoRet: c.action === "EPERM" ? 1 : 38 });
          if (c.action === "KILL") profile.syscalls.push({ names: c.names, action: "SCMP_ACT_KILL" });
        }
        const edit = (config: Record<string, any>) => {
          config.linux.seccomp = profile;
          config.process.noNewPrivileges = noNewPrivileges;
          config.process.capabilities = Object.fromEntries(["bounding", "effective", "permitted"].map((s) => [s, caps]));
        };
        const script = "echo ran";
        // runc 1.1.5 hangs for good when some syscalls are KILLed (its init dies, its parent waits): 10 s, then SIGKILL.
        const b = buncRun(sb, script, edit, { timeoutMs: 10_000 });
        const runcId = sb.id("runc");
        const r = sb.runc(["run", "-b", sb.bundle(["sh", "-c", script], edit), runcId], { timeoutMs: 10_000 });
        if (r.code === 137) reapHungRunc(runcId);
        const why = `profile ${name}, changes ${JSON.stringify(changes)}, noNewPrivileges ${noNewPrivileges}\nbunc: ${show(b)}\nrunc: ${show(r)}`;
        // bunc's own setup steps fail as "unable to start container process: STEP: …"; exec is the
        // container's. Such a failure is a bug where runc got as far as the container's program: its
        // output, or its execve failed (runc fails closed itself on what it cannot do without — its
        // bounding set through prctl… — by an error or a panic of its init: not as far).
        const ownStep = (stderr: string) => /unable to start container process: (?!exec: )/.test(stderr);
        const runcReachedProgram = r.stdout.includes("ran") || /unable to start container process: exec: /.test(r.stderr);
        if (LOG) appendFileSync(LOG, `${JSON.stringify({ name, noNewPrivileges, changes })} bunc ${b.code} ${b.stderr.trim().split("\n")[0] ?? ""} | runc ${r.code} ${r.stdout.includes("ran") ? "ran" : r.stderr.trim().split("\n")[0] ?? ""}\n`);
        if (ownStep(b.stderr) && runcReachedProgram) throw new Error(`bunc failed in one of its own steps where runc started the container's program\n${why}`);
        if (b.code !== 0 && b.stderr.trim().split("\n").filter((l) => !l.startsWith("bunc: warning: ")).length > 1) throw new Error(`more than one error line\n${why}`);
        if (/panic|Bun has crashed|Segmentation fault|^\s+at /m.test(b.stderr)) throw new Error(`bunc crashed\n${why}`);
        if (r.code === 0 && r.stdout === "ran\n") {
          if (b.code !== 0 || b.stdout !== "ran\n") throw new Error(`runc ran the container, bunc did not\n${why}`);
          same++;
        } else bothFail++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`seccomp fuzzing: ${same} profiles ran under both runtimes, ${bothFail} stopped the container's program (or runc) as well; profiles mutated: ${[...tried].map(([n, k]) => `${n} ${k}`).join(", ")}`);
    expect(same).toBeGreaterThan(0);
  }, Math.max(900_000, RUNS * 25_000));
});
