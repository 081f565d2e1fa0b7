/**
 * The process part of a setup program, shared by create and exec: rlimits,
 * user and capabilities, cwd, umask, no_new_privs, the program lookup, fd
 * hygiene, and execve (runc's finalizeNamespace and the end of its init).
 */
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { Process } from "../spec/config";
import { CAPABILITIES, capabilityMask } from "./capabilities";
import { Chdir, Msg, Op, type Operation } from "./program";
import { RLIMITS } from "./rlimits";
import { ioprioValue, schedAttr } from "./sched";
import { compileLsmExec } from "./lsm";
import type { MemoryPolicyPlan } from "./mempolicy";

export type Add = (code: Operation["code"], what: string, fields?: Omit<Operation, "code" | "what">) => void;

export interface ProcessContext {
  /** HOME from the container's /etc/passwd, used when process.env has none. */
  home: string;
  preserveFds: number;
  /** For create: the state dir's fd and the exec FIFO's name. */
  fifo?: { dirFd: number; name: string };
  /** A finished seccomp filter (src/linux/seccomp.ts) and its seccomp(2) flags. */
  seccomp?: CompiledSeccomp;
  /** /proc/sys/kernel/cap_last_cap: capabilities above it are dropped with a warning. */
  lastCap?: number;
  /** Where warnings go (a capability this kernel lacks). */
  warnings?: string[];
  /** linux.memoryPolicy, checked (src/plan/mempolicy.ts): create's and exec's processes both get it, as runc. */
  memoryPolicy?: MemoryPolicyPlan & { what: string };
  /** startContainer hooks: run in the container, after start, before execve. */
  startHooks?: Operation[];
  /**
   * Join the cgroup last: instead of READY the child asks the parent to place
   * it in its cgroup (Msg.READY_TO_JOIN), which counts as ready. For exec
   * --ignore-paused: in a frozen cgroup the process stops where it joins.
   */
  joinCgroupLast?: boolean;
  /** A non-root bunc: no setgroups(2), as runc's setupUser (a user namespace's setgroups may be "deny"). */
  rootlessEUID?: boolean;
  /** /proc/PID/setgroups of the process's user namespace is "deny": no setgroups(2) either (runc's allowSupGroups). */
  setgroupsDenied?: boolean;
}

export interface CompiledSeccomp {
  bpf: Uint8Array;
  flags: number;
  /** The filter has SCMP_ACT_NOTIFY rules: its listener fd goes to the parent. */
  listener: boolean;
  /** The parent takes that fd with pidfd_getfd (it reads only its number), rather than the child sending it. */
  fetchListener?: boolean;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Append the steps that turn the set-up child into the container's process. */
export function compileProcess(proc: Process, ctx: ProcessContext, add: Add): void {
  for (const rl of proc.rlimits ?? []) {
    const resource = RLIMITS[rl.type];
    if (resource === undefined) throw new BuncError(`config.json: process.rlimits: unknown rlimit type ${JSON.stringify(rl.type)}`, { code: "CONFIG" });
    add(Op.SETRLIMIT, `set ${rl.type} to ${rl.soft}/${rl.hard}`, { n: [resource, BigInt(rl.soft), BigInt(rl.hard)] });
  }

  if (proc.scheduler) add(Op.SCHEDULER, `set scheduler ${proc.scheduler.policy}`, { n: [{ bytes: schedAttr(proc.scheduler) }, 48] });
  const mp = ctx.memoryPolicy;
  if (mp) add(Op.MEMPOLICY, mp.what, { n: [mp.mode, mp.mask.length ? { bytes: mp.mask } : 0, mp.maxnode] });
  if (proc.ioPriority) add(Op.IOPRIO, `set I/O priority ${proc.ioPriority.class}`, { n: [ioprioValue(proc.ioPriority)] });

  // User and capabilities: drop the bounding set while still privileged, switch
  // ids keeping the permitted set (PR_SET_KEEPCAPS), then set the final sets.
  const caps = proc.capabilities ?? {};
  const user = proc.user ?? { uid: 0, gid: 0 };
  const mask = (set: "bounding" | "effective" | "inheritable" | "permitted" | "ambient") => knownToKernel(capabilityMask(caps[set], set), ctx);
  // As runc, while still root: a non-dumpable process's /proc/thread-self/attr files are root's.
  compileLsmExec(proc, add);
  // Before the seccomp filter, which a profile older than these steps' syscalls
  // (close_range(2) is Linux 5.9) would refuse: every fd opened after this one is
  // O_CLOEXEC. runc sets the umask with the rootfs, and chowns stdio while root.
  add(Op.UMASK, "set umask", { n: [user.umask ?? 0o022] });
  add(Op.CLOSE_FDS, "close the runtime's file descriptors", { n: [3 + ctx.preserveFds] });
  add(Op.STDIO_OWNER, `give stdio to uid ${user.uid}`, { n: [user.uid] });
  // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: load the filter while we still have it (as runc).
  if (ctx.seccomp && !proc.noNewPrivileges) addSeccomp(ctx.seccomp, add);
  // The cwd is entered as root, and again as the user only if root was refused (runc's finalizeNamespace).
  const cwd = `chdir to cwd ${JSON.stringify(proc.cwd)}`;
  add(Op.CHDIR, cwd, { s: [proc.cwd], n: [Chdir.EARLY] });
  add(Op.CAPBSET, "drop bounding capabilities", { n: [mask("bounding")] });
  add(Op.KEEPCAPS, "keep capabilities across setuid", { n: [1] });
  if (ctx.rootlessEUID && user.additionalGids?.length)
    throw new BuncError("config.json: process.user.additionalGids: cannot set any additional groups in a rootless container", { code: "CONFIG" });
  if (!ctx.rootlessEUID && !ctx.setgroupsDenied) add(Op.SETGROUPS, "setgroups", { n: [{ u32: user.additionalGids ?? [] }, (user.additionalGids ?? []).length] });
  add(Op.SETRESGID, `set gid ${user.gid}`, { n: [user.gid] });
  add(Op.SETRESUID, `set uid ${user.uid}`, { n: [user.uid] });
  add(Op.CHDIR, cwd, { s: [proc.cwd], n: [Chdir.LATE] });
  add(Op.VERIFY_CWD, `verify cwd ${JSON.stringify(proc.cwd)}`);
  add(Op.KEEPCAPS, "clear keep-capabilities", { n: [0] });
  const permitted = mask("permitted");
  const inheritable = mask("inheritable");
  add(Op.CAPSET, "set capabilities", { n: [mask("effective"), permitted, inheritable] });
  // The kernel raises an ambient capability only if it is permitted and inheritable
  // (capabilities(7)); runc skips the others with a warning, and so does bunc.
  add(Op.AMBIENT, "raise ambient capabilities", { n: [mask("ambient") & permitted & inheritable] });
  if (proc.noNewPrivileges) add(Op.NO_NEW_PRIVS, "set no_new_privs");

  const env = [...(proc.env ?? [])];
  for (const e of env) {
    const eq = e.indexOf("=");
    if (eq <= 0 || e.includes("\0")) throw new BuncError(`config.json: process.env: invalid environment variable ${JSON.stringify(e)}`, { code: "CONFIG" });
  }
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${ctx.home}`);
  const arg0 = proc.args[0]!;
  add(Op.LOOKUP, `exec: ${JSON.stringify(arg0)}`, { n: [{ strings: candidates(arg0, env) }] });
  add(Op.PDEATHSIG, "clear the parent-death signal", { n: [0] });
  // As late as possible, so that a profile need not allow the setup's syscalls; still
  // before READY, so that a failure is reported and a listener fd reaches the parent.
  if (ctx.seccomp && proc.noNewPrivileges) addSeccomp(ctx.seccomp, add);
  if (ctx.joinCgroupLast) add(Op.SYNC, "join the container's cgroup", { n: [Msg.READY_TO_JOIN] });
  // A process that waits for start also waits for its creator to finish create (Launched.release):
  // if the creator dies first, the end of the sync socket ends this process too.
  else if (ctx.fifo) add(Op.SYNC, "wait for create to finish", { n: [Msg.READY] });
  else add(Op.READY, "report ready");
  if (ctx.fifo) add(Op.FIFO_WAIT, "wait for start on the exec fifo", { fd: ctx.fifo.dirFd, s: [ctx.fifo.name] });
  for (const hook of ctx.startHooks ?? []) add(hook.code, hook.what, hook);
  add(Op.EXEC, `exec ${JSON.stringify(arg0)}`, { n: [{ strings: proc.args }, { strings: env }] });
}

function addSeccomp(f: CompiledSeccomp, add: Add): void {
  const listener = !f.listener ? 0 : f.fetchListener ? Msg.SECCOMP_FD : Msg.SECCOMP;
  add(Op.SECCOMP, "load the seccomp filter", { n: [{ bytes: f.bpf }, f.bpf.length / 8, f.flags, listener] });
}

/** Drop, with a warning, capabilities above this kernel's last one (named by a newer kernel). */
function knownToKernel(mask: bigint, ctx: ProcessContext): bigint {
  if (ctx.lastCap === undefined) return mask;
  const known = (1n << BigInt(ctx.lastCap + 1)) - 1n;
  const unknown = mask & ~known;
  for (const [bit, name] of CAPABILITIES.entries()) {
    if (!(unknown & (1n << BigInt(bit)))) continue;
    const note = `capability ${name} is unknown to this kernel (its last is ${ctx.lastCap}): dropped from the container's sets`;
    if (ctx.warnings && !ctx.warnings.includes(note)) ctx.warnings.push(note);
  }
  return mask & known;
}

/** Where execve may find args[0]: itself when it has a '/', else each $PATH entry, as execvp(3). */
export function candidates(arg0: string, env: readonly string[]): string[] {
  if (arg0.includes("/")) return [arg0];
  const pathVar = env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  return pathVar.split(":").map((dir) => path.join(dir || ".", arg0));
}
