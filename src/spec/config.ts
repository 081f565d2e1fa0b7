/**
 * valibot schema of an OCI bundle's config.json (runtime-spec 1.0-1.3, Linux
 * parts; see config.md and config-linux.md) and the parser that reports the
 * first problem as one line: `config.json: <path>: <expectation>`.
 *
 * Unknown fields are kept everywhere, as the spec requires. The freebsd,
 * solaris, vm, windows and zos objects are accepted but not looked into.
 */
import * as v from "valibot";
import { BuncError } from "../errors";
import {
  AbsolutePath,
  arrayOf,
  Bool,
  expected,
  Int32,
  Int64,
  integer,
  LinuxResources,
  matching,
  obj,
  oneOf,
  opt,
  deferred,
  recordOf,
  Str,
  StringArray,
  StringMap,
  Uint32,
  Uint64,
} from "./resources";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** A non-empty array of strings (process.args, seccomp syscall names). */
const NonEmptyStrings = v.custom<string[]>(
  (x) => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === "string"),
  expected("a non-empty array of strings", false),
);

/** The first `type` that occurs twice in `items`. */
function duplicateType(items: readonly { type: string }[]): string | undefined {
  const seen = new Set<string>();
  for (const { type } of items) {
    if (seen.has(type)) return type;
    seen.add(type);
  }
  return undefined;
}

/** Refuses an array in which two entries have the same `type`. */
const uniqueType = <T extends { type: string }>(what: string) =>
  v.check<T[], v.ErrorMessage<v.CheckIssue<T[]>>>(
    (items) => duplicateType(items) === undefined,
    (issue) => `duplicate ${what} ${JSON.stringify(duplicateType(issue.input))}`,
  );

const CPUList = matching(/^[0-9, -]*$/, 'a CPU list like "0-3,7"');

// ---------------------------------------------------------------------------
// Shared objects
// ---------------------------------------------------------------------------

/** A user namespace (or idmapped mount) id range. */
export const LinuxIDMapping = obj({
  containerID: Uint32,
  hostID: Uint32,
  size: Uint32,
});
export type LinuxIDMapping = v.InferOutput<typeof LinuxIDMapping>;

/** `root`: the container's root filesystem (path may be relative to the bundle). */
export const Root = obj({
  path: Str,
  readonly: opt(Bool),
});
export type Root = v.InferOutput<typeof Root>;

/** An entry of `mounts`. */
export const Mount = obj({
  destination: AbsolutePath,
  source: opt(Str),
  options: opt(StringArray),
  type: opt(Str),
  uidMappings: opt(arrayOf(LinuxIDMapping)),
  gidMappings: opt(arrayOf(LinuxIDMapping)),
});
export type Mount = v.InferOutput<typeof Mount>;

// ---------------------------------------------------------------------------
// process
// ---------------------------------------------------------------------------

/** `process.consoleSize`. */
export const Box = obj({
  height: Uint64,
  width: Uint64,
});

/** `process.user` (POSIX). */
export const User = obj({
  uid: Uint32,
  gid: Uint32,
  umask: opt(Uint32),
  additionalGids: opt(arrayOf(Uint32)),
  username: opt(Str),
});
export type User = v.InferOutput<typeof User>;

/** An entry of `process.rlimits`. */
export const POSIXRlimit = obj({
  type: matching(/^RLIMIT_[A-Z_]+$/, 'an rlimit name like "RLIMIT_NOFILE"'),
  soft: Uint64,
  hard: Uint64,
});
export type POSIXRlimit = v.InferOutput<typeof POSIXRlimit>;

/** `process.capabilities`: capability names per set. */
export const LinuxCapabilities = obj({
  bounding: opt(StringArray),
  effective: opt(StringArray),
  inheritable: opt(StringArray),
  permitted: opt(StringArray),
  ambient: opt(StringArray),
});
export type LinuxCapabilities = v.InferOutput<typeof LinuxCapabilities>;

const SCHED_FLAGS = [
  "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
] as const;

/** `process.scheduler`: sched_setattr(2) attributes. */
export const Scheduler = deferred(() =>
  obj({
    policy: oneOf(["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"]),
    nice: opt(Int32),
    priority: opt(Int32),
    flags: opt(arrayOf(v.picklist(SCHED_FLAGS, expected('a flag like "SCHED_FLAG_RESET_ON_FORK"')))),
    runtime: opt(Uint64),
    deadline: opt(Uint64),
    period: opt(Uint64),
  }),
);

/** `process.ioPriority`: ioprio_set(2) class and level. */
export const LinuxIOPriority = deferred(() =>
  obj({
    class: oneOf(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]),
    priority: opt(integer(0, 7, "an integer from 0 to 7")),
  }),
);

/** `process.execCPUAffinity`: CPU lists for `exec`. */
export const CPUAffinity = deferred(() =>
  obj({
    initial: opt(CPUList),
    final: opt(CPUList),
  }),
);

/** `process`: the container process (REQUIRED by start; create/run check its presence). */
export const Process = obj({
  terminal: opt(Bool),
  consoleSize: opt(Box),
  user: opt(User),
  args: NonEmptyStrings,
  commandLine: opt(Str),
  env: opt(StringArray),
  cwd: AbsolutePath,
  rlimits: opt(v.pipe(arrayOf(POSIXRlimit), uniqueType("rlimit type"))),
  apparmorProfile: opt(Str),
  capabilities: opt(LinuxCapabilities),
  noNewPrivileges: opt(Bool),
  oomScoreAdj: opt(integer(-1000, 1000, "an integer from -1000 to 1000")),
  scheduler: opt(Scheduler),
  selinuxLabel: opt(Str),
  ioPriority: opt(LinuxIOPriority),
  execCPUAffinity: opt(CPUAffinity),
});
export type Process = v.InferOutput<typeof Process>;

// ---------------------------------------------------------------------------
// hooks
// ---------------------------------------------------------------------------

/** A lifecycle hook command. */
export const Hook = obj({
  path: AbsolutePath,
  args: opt(StringArray),
  env: opt(StringArray),
  timeout: opt(integer(1, Infinity, "a positive integer")),
});
export type Hook = v.InferOutput<typeof Hook>;

const HookList = arrayOf(Hook);

/** `hooks`, per lifecycle point (prestart is deprecated but still run). */
export const Hooks = deferred(() =>
  obj({
    prestart: opt(HookList),
    createRuntime: opt(HookList),
    createContainer: opt(HookList),
    startContainer: opt(HookList),
    poststart: opt(HookList),
    poststop: opt(HookList),
  }),
);
export type Hooks = v.InferOutput<typeof Hooks>;

// ---------------------------------------------------------------------------
// linux
// ---------------------------------------------------------------------------

/** The namespace types, in the order of config-linux.md. */
export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;

/** An entry of `linux.namespaces`: create (no path) or join (path) a namespace. */
export const LinuxNamespace = obj({
  type: oneOf(NAMESPACE_TYPES),
  path: opt(AbsolutePath),
});
export type LinuxNamespace = v.InferOutput<typeof LinuxNamespace>;

/** `linux.timeOffsets.<clock>` of a time namespace. */
export const LinuxTimeOffset = deferred(() =>
  obj({
    secs: opt(Int64),
    nanosecs: opt(Uint32),
  }),
);

/** An entry of `linux.devices`: a device node to create in the container. */
export const LinuxDevice = deferred(() => v.pipe(
  obj({
    type: oneOf(["c", "b", "u", "p"]),
    path: AbsolutePath,
    major: opt(Int64),
    minor: opt(Int64),
    fileMode: opt(Uint32),
    uid: opt(Uint32),
    gid: opt(Uint32),
  }),
  v.forward(v.check((d) => d.type === "p" || d.major !== undefined, 'is required unless type is "p"'), ["major"]),
  v.forward(v.check((d) => d.type === "p" || d.minor !== undefined, 'is required unless type is "p"'), ["minor"]),
));
export type LinuxDevice = v.InferOutput<typeof LinuxDevice>;

/** A value of `linux.netDevices`: a host interface moved into the container. */
export const LinuxNetDevice = deferred(() =>
  obj({
    name: opt(Str),
  }),
);

/** `linux.intelRdt`: resctrl class of service and monitoring. */
export const LinuxIntelRdt = deferred(() =>
  obj({
    closID: opt(Str),
    l3CacheSchema: opt(Str),
    memBwSchema: opt(matching(/^MB:[^\n]*$/, 'one line starting with "MB:"')),
    schemata: opt(arrayOf(matching(/^[^\n]*$/, "a string without newlines"))),
    enableMonitoring: opt(Bool),
    enableCMT: opt(Bool), // runtime-spec 1.1-1.2; replaced by enableMonitoring
    enableMBM: opt(Bool), // runtime-spec 1.1-1.2; replaced by enableMonitoring
  }),
);

const MPOL_MODES = [
  "MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
  "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",
] as const;

/** `linux.memoryPolicy`: set_mempolicy(2) for the container. */
export const LinuxMemoryPolicy = deferred(() =>
  obj({
    mode: v.picklist(MPOL_MODES, expected('a mode like "MPOL_BIND"')),
    nodes: opt(Str),
    flags: opt(arrayOf(oneOf(["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]))),
  }),
);

const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
const SECCOMP_OPS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;
const SECCOMP_ARCHES = [
  "X86", "X86_64", "X32", "ARM", "AARCH64", "LOONGARCH64", "M68K",
  "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32",
  "PPC", "PPC64", "PPC64LE", "S390", "S390X", "SH", "SHEB", "PARISC", "PARISC64", "RISCV64",
].map((a) => `SCMP_ARCH_${a}`) as [string, ...string[]];

const SeccompAction = v.picklist(SECCOMP_ACTIONS, expected('a seccomp action like "SCMP_ACT_ERRNO"'));

/** A condition on one syscall argument. */
export const LinuxSeccompArg = deferred(() =>
  obj({
    index: Uint32,
    value: Uint64,
    valueTwo: opt(Uint64),
    op: v.picklist(SECCOMP_OPS, expected('an operator like "SCMP_CMP_EQ"')),
  }),
);

/** A rule of `linux.seccomp.syscalls`. */
export const LinuxSyscall = deferred(() =>
  obj({
    names: NonEmptyStrings,
    action: SeccompAction,
    errnoRet: opt(Uint32),
    args: opt(arrayOf(LinuxSeccompArg)),
  }),
);

/** `linux.seccomp`: the seccomp filter. */
export const LinuxSeccomp = deferred(() => v.pipe(
  obj({
    defaultAction: SeccompAction,
    defaultErrnoRet: opt(Uint32),
    architectures: opt(arrayOf(v.picklist(SECCOMP_ARCHES, expected('an architecture like "SCMP_ARCH_X86_64"')))),
    flags: opt(arrayOf(v.picklist(SECCOMP_FLAGS, expected('a flag like "SECCOMP_FILTER_FLAG_LOG"')))),
    listenerPath: opt(Str),
    listenerMetadata: opt(Str),
    syscalls: opt(arrayOf(LinuxSyscall)),
  }),
  v.forward(
    v.check((s) => s.listenerMetadata === undefined || s.listenerPath !== undefined, "requires listenerPath"),
    ["listenerMetadata"],
  ),
));
export type LinuxSeccomp = v.InferOutput<typeof LinuxSeccomp>;
export type LinuxMemoryPolicy = v.InferOutput<typeof LinuxMemoryPolicy>;

/** `linux.personality`: personality(2) domain. */
export const LinuxPersonality = deferred(() =>
  obj({
    domain: oneOf(["LINUX", "LINUX32"]),
    flags: opt(StringArray),
  }),
);

/** `linux`: the Linux-specific configuration. */
export const Linux = obj({
  namespaces: opt(v.pipe(arrayOf(LinuxNamespace), uniqueType("namespace type"))),
  uidMappings: opt(arrayOf(LinuxIDMapping)),
  gidMappings: opt(arrayOf(LinuxIDMapping)),
  timeOffsets: opt(obj({ boottime: opt(LinuxTimeOffset), monotonic: opt(LinuxTimeOffset) })),
  devices: opt(arrayOf(LinuxDevice)),
  netDevices: opt(recordOf(LinuxNetDevice)),
  cgroupsPath: opt(Str),
  resources: opt(LinuxResources),
  intelRdt: opt(LinuxIntelRdt),
  memoryPolicy: opt(LinuxMemoryPolicy),
  sysctl: opt(StringMap),
  seccomp: opt(LinuxSeccomp),
  rootfsPropagation: opt(
    oneOf(["shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"]),
  ),
  maskedPaths: opt(StringArray),
  readonlyPaths: opt(StringArray),
  mountLabel: opt(Str),
  personality: opt(LinuxPersonality),
});
export type Linux = v.InferOutput<typeof Linux>;

// ---------------------------------------------------------------------------
// config.json
// ---------------------------------------------------------------------------

/** A platform object this runtime does not use: must be an object, otherwise unchecked. */
const OtherPlatform = opt(obj({}));

/** The whole config.json. */
export const Spec = obj({
  ociVersion: Str,
  root: opt(Root),
  mounts: opt(arrayOf(Mount)),
  process: opt(Process),
  hostname: opt(Str),
  domainname: opt(Str),
  linux: opt(Linux),
  hooks: opt(Hooks),
  annotations: opt(StringMap),
  freebsd: OtherPlatform,
  solaris: OtherPlatform,
  vm: OtherPlatform,
  windows: OtherPlatform,
  zos: OtherPlatform,
});
/** A validated config.json; unknown fields are kept (typed `unknown`). */
export type Spec = v.InferOutput<typeof Spec>;

export { LinuxResources };

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/** Renders a valibot issue path as `a.b[2].c` (odd keys as `["net.ipv4.ip_forward"]`). */
function renderPath(path: readonly { key: unknown }[] | undefined): string {
  let out = "";
  for (const { key } of path ?? []) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Validates `input` against `schema`, throwing a one-line `<file>: <path>: <problem>` BuncError. */
export function parseWith<S extends v.GenericSchema>(schema: S, input: unknown, file: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = renderPath(issue.path);
  const message = path ? `${path}: ${issue.message}` : input === undefined ? "expected a JSON object" : issue.message;
  throw new BuncError(`${file}: ${message}`, { code: "CONFIG" });
}

/** Validates a parsed config.json; throws BuncError("config.json: <path>: <problem>", code CONFIG). */
export function parseConfig(input: unknown): Spec {
  return parseWith(Spec, input, "config.json");
}

/** Parses and validates the text of config.json; bad JSON gives "config.json: invalid JSON: <reason>". */
export function parseConfigText(text: string): Spec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/^JSON Parse error:\s*/i, "");
    throw new BuncError(`config.json: invalid JSON: ${reason}`, { code: "CONFIG", cause: e });
  }
  return parseConfig(data);
}
