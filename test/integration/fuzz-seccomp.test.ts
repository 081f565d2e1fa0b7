/**
 * Seccomp fuzzing (issue 14): podman's default profile, and the same profile
 * as it stood before Linux 5.3's syscalls, with random syscalls removed or
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
import { existsSync } from "node:fs";
import fc from "fast-check";
import { integrationSkipReason, RUNC, Sandbox } from "../harness";
import { buncRun, runcRun, show } from "./container-helpers";
import { NEWER_THAN_5_2, PODMAN_DEFAULT_CAPS, PODMAN_PROFILE, podmanProfile, without } from "./seccomp-profiles";

const skip = integrationSkipReason() ?? (existsSync(PODMAN_PROFILE) ? undefined : `${PODMAN_PROFILE} is missing (containers-common)`) ?? (RUNC ? undefined : "runc is not installed");
if (skip) console.warn(`skipping the seccomp fuzzer: ${skip}`);
const RUNS = Number(process.env.BUNC_FUZZ_SECCOMP_RUNS ?? 60);
const SEED = Number(process.env.BUNC_FUZZ_SEED ?? 11);

/** What a runtime may call after the filter is loaded (runc's and bunc's last steps), and common others. */
const LATE = ["close_range", "close", "fcntl", "getdents64", "openat", "open", "fstat", "newfstatat", "statx", "execve", "execveat", "capset", "capget", "prctl",
  "setgroups", "setresuid", "setresgid", "setuid", "setgid", "chdir", "fchdir", "getcwd", "write", "read", "readlink", "sendmsg", "recvmsg", "rt_sigprocmask",
  "rt_sigaction", "ioctl", "dup2", "dup3", "fchown", "umask", "setsid", "exit_group", "wait4", "waitid", "kill", "clone", "clone3", "pidfd_send_signal", "getpid", "poll", "ppoll"];

describe.skipIf(!!skip)("seccomp fuzzing", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test(`${RUNS} mutated profiles (seed ${SEED}): bunc runs what runc runs, and never fails in its own steps`, () => {
    const base = podmanProfile(PODMAN_DEFAULT_CAPS);
    const old = without(base, NEWER_THAN_5_2);
    const allowed: string[] = [...new Set<string>(base.syscalls.filter((r: any) => r.action === "SCMP_ACT_ALLOW").flatMap((r: any) => r.names as string[]))];
    const names = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...LATE) }, { weight: 1, arbitrary: fc.constantFrom(...allowed) });
    const change = fc.record({ names: fc.uniqueArray(names, { minLength: 1, maxLength: 4 }), action: fc.constantFrom("remove", "EPERM", "ENOSYS", "KILL") });
    const attempt = fc.record({ old: fc.boolean(), noNewPrivileges: fc.boolean(), changes: fc.array(change, { minLength: 1, maxLength: 2 }) });
    let same = 0;
    let bothFail = 0;

    fc.assert(
      fc.property(attempt, ({ old: useOld, noNewPrivileges, changes }) => {
        let profile = useOld ? old : base;
        for (const c of changes) {
          profile = without(profile, c.names);
          if (c.action === "EPERM" || c.action === "ENOSYS") profile.syscalls.push({ names: c.names, action: "SCMP_ACT_ERRNO", errnoRet: c.action === "EPERM" ? 1 : 38 });
          if (c.action === "KILL") profile.syscalls.push({ names: c.names, action: "SCMP_ACT_KILL" });
        }
        const edit = (config: Record<string, any>) => {
          config.linux.seccomp = profile;
          config.process.noNewPrivileges = noNewPrivileges;
          config.process.capabilities = Object.fromEntries(["bounding", "effective", "permitted"].map((s) => [s, PODMAN_DEFAULT_CAPS]));
        };
        const script = "echo ran";
        // runc 1.1.5 hangs for good when some syscalls are KILLed (its init dies, its parent waits): 10 s, then SIGKILL.
        const b = buncRun(sb, script, edit, { timeoutMs: 10_000 });
        const r = runcRun(sb, script, edit, { timeoutMs: 10_000 });
        const why = `changes ${JSON.stringify(changes)}, old ${useOld}, noNewPrivileges ${noNewPrivileges}\nbunc: ${show(b)}\nrunc: ${show(r)}`;
        // bunc's own setup steps fail as "unable to start container process: STEP: …"; exec is the
        // container's. Such a failure is a bug where runc got as far as the container's program
        // (runc fails closed itself on what it cannot do without: its bounding set through prctl…).
        const ownStep = (stderr: string) => /unable to start container process: (?!exec: )/.test(stderr);
        if (ownStep(b.stderr) && !ownStep(r.stderr)) throw new Error(`bunc failed in one of its own steps where runc started the container's program\n${why}`);
        if (b.code !== 0 && b.stderr.trim().split("\n").filter((l) => !l.startsWith("bunc: warning: ")).length > 1) throw new Error(`more than one error line\n${why}`);
        if (/panic|Bun has crashed|Segmentation fault|^\s+at /m.test(b.stderr)) throw new Error(`bunc crashed\n${why}`);
        if (r.code === 0 && r.stdout === "ran\n") {
          if (b.code !== 0 || b.stdout !== "ran\n") throw new Error(`runc ran the container, bunc did not\n${why}`);
          same++;
        } else bothFail++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`seccomp fuzzing: ${same} profiles ran under both runtimes, ${bothFail} stopped the container's program (or runc) as well`);
    expect(same).toBeGreaterThan(0);
  }, 900_000);
});
