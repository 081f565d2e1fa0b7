/**
 * linux.seccomp → what to ask libseccomp for (pure). The numbers are
 * libseccomp's (seccomp.h of 2.5): action values, comparison operators and
 * the kernel's filter flags. src/linux/seccomp.ts turns this plan into BPF;
 * the executor loads the BPF with seccomp(2) and these flags.
 */
import { BuncError } from "../errors";
import type { LinuxSeccomp } from "../spec/config";

const EPERM = 1;

/** SCMP_ACT_* as libseccomp encodes them; ERRNO and TRACE carry a 16-bit value. */
export const ACTIONS = {
  SCMP_ACT_KILL: 0x00000000, // = KILL_THREAD, as libseccomp-golang's ActKill
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
} as const;

/** enum scmp_compare. */
export const OPERATORS = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;

/** SECCOMP_FILTER_FLAG_* of seccomp(2). */
export const FILTER_FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const;

/**
 * Syscalls the executor makes after loading a filter with a listener BEFORE
 * the listener has its fd: notifying them would hang the container for good.
 * write tells bunc the fd's number, and bunc, as root, takes the fd with
 * pidfd_getfd(2) (runc 1.2+ does the same) and hands it to the listener
 * before it answers; read (that answer) and everything after may be
 * notified, as runc allows (it refuses only write). A rootless bunc has no
 * ptrace access to its non-dumpable child, so the child passes the fd itself
 * with sendmsg, which then must not be notified either.
 */
const NOTIFY_FORBIDDEN = ["write"];
const NOTIFY_FORBIDDEN_ROOTLESS = ["write", "sendmsg"];

export interface SeccompCondition {
  index: number;
  op: number;
  a: bigint;
  b: bigint;
}

export interface SeccompRule {
  name: string;
  action: number;
  /** Conditions ANDed in one rule. */
  conditions: SeccompCondition[];
}

export interface SeccompPlan {
  defaultAction: number;
  /** libseccomp architecture names ("x86_64", "x86"), for seccomp_arch_resolve_name. */
  architectures: string[];
  rules: SeccompRule[];
  /** Flags for seccomp(2) itself. */
  flags: number;
  /** Some rule notifies: the filter is loaded with NEW_LISTENER and its fd goes to listenerPath. */
  listener: boolean;
  /** Every syscall name the profile lists, whatever its action: the ENOSYS stub starts above the highest. */
  names: string[];
}

/** The libseccomp action value of an OCI action and its errnoRet. */
export function actionValue(action: keyof typeof ACTIONS, errnoRet: number | undefined, where: string): number {
  if (errnoRet !== undefined && action !== "SCMP_ACT_ERRNO" && action !== "SCMP_ACT_TRACE")
    throw new BuncError(`config.json: ${where}: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${action}`, { code: "CONFIG" });
  const base = ACTIONS[action];
  if (action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE") {
    const ret = errnoRet ?? EPERM;
    if (ret > 0xffff) throw new BuncError(`config.json: ${where}: errnoRet ${ret} does not fit in 16 bits`, { code: "CONFIG" });
    return (base | ret) >>> 0;
  }
  return base;
}

/** Check linux.seccomp and translate it into libseccomp's terms. */
export function planSeccomp(s: LinuxSeccomp, opts: { fetchListener?: boolean } = {}): SeccompPlan {
  const forbidden = opts.fetchListener ? NOTIFY_FORBIDDEN : NOTIFY_FORBIDDEN_ROOTLESS;
  if (s.defaultAction === "SCMP_ACT_NOTIFY")
    throw new BuncError("config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", { code: "CONFIG" });
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet, "linux.seccomp.defaultErrnoRet");
  const rules: SeccompRule[] = [];
  let listener = false;
  (s.syscalls ?? []).forEach((call, i) => {
    const where = `linux.seccomp.syscalls[${i}]`;
    const action = actionValue(call.action, call.errnoRet, where);
    if (call.action === "SCMP_ACT_NOTIFY") {
      listener = true;
      const bad = call.names.find((n) => forbidden.includes(n));
      if (bad) throw new BuncError(`config.json: ${where}: SCMP_ACT_NOTIFY cannot be used for the ${bad} syscall: bunc itself needs it after the filter is loaded`, { code: "CONFIG" });
    }
    // libseccomp refuses a rule whose action is the default one; it would change nothing.
    if (action === defaultAction) return;
    const conditions = (call.args ?? []).map((a, k) => {
      if (a.index > 5) throw new BuncError(`config.json: ${where}.args[${k}].index: a syscall has 6 arguments (0-5), not ${a.index + 1}`, { code: "CONFIG" });
      return { index: a.index, op: OPERATORS[a.op], a: BigInt(a.value), b: BigInt(a.valueTwo ?? 0) };
    });
    // As runc: two conditions on one argument cannot be ANDed by libseccomp, so each becomes its own rule.
    const perArg = new Set(conditions.map((c) => c.index));
    const groups = perArg.size < conditions.length ? conditions.map((c) => [c]) : [conditions];
    for (const name of call.names) for (const g of groups) rules.push({ name, action, conditions: g });
  });
  if (listener && !s.listenerPath)
    throw new BuncError("config.json: linux.seccomp: SCMP_ACT_NOTIFY needs listenerPath", { code: "CONFIG" });
  let flags = 0;
  for (const f of s.flags ?? []) {
    // TSYNC syncs the filter to other threads: the executor has none. WAIT_KILLABLE_RECV
    // applies only to a filter with a listener (seccomp(2) refuses it otherwise).
    if (f === "SECCOMP_FILTER_FLAG_TSYNC") continue;
    if (f === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" && !listener) continue;
    flags |= FILTER_FLAGS[f as keyof typeof FILTER_FLAGS];
  }
  if (listener) flags |= FILTER_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER;
  const architectures = (s.architectures ?? []).map((a) => a.replace(/^SCMP_ARCH_/, "").toLowerCase());
  const names = [...new Set((s.syscalls ?? []).flatMap((c) => c.names))];
  return { defaultAction, architectures, rules, flags, listener, names };
}
