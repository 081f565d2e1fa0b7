/**
 * valibot schema of `linux.resources` in config.json (OCI runtime-spec 1.0-1.3,
 * config-linux.md "Control groups"), plus the small schema building blocks that
 * config.ts shares. The same object is what `bunc update --resources` reads.
 *
 * Numbers: the spec's int64/uint64 fields may exceed 2^53; JSON.parse rounds
 * them, so we accept any integer and only check the sign where it matters.
 */
import * as v from "valibot";

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/** Renders an offending value in an error message: short, JSON-ish. */
export function describe(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  if (typeof x === "number" || typeof x === "boolean" || x === null) return String(x);
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? "an object" : typeof x;
}

/** Message for an issue: "is required" when the value is absent, else "expected <what>, got <value>". */
export const expected =
  (what: string, showGot = true) =>
  (issue: v.BaseIssue<unknown>): string =>
    issue.input === undefined
      ? "is required"
      : showGot
        ? `expected ${what}, got ${describe(issue.input)}`
        : `expected ${what}`;

export const Str = v.string(expected("a string"));
export const Bool = v.boolean(expected("a boolean"));
export const StringArray = v.array(Str, expected("an array of strings"));
/** Lets only a non-null, non-array object through to `schema` (valibot takes arrays for objects). */
const isObject = v.custom<unknown>(
  (x) => typeof x === "object" && x !== null && !Array.isArray(x),
  expected("an object"),
);
const plain = <const S extends v.GenericSchema>(schema: S) => v.pipe(isObject, schema);

/** A JSON object whose values all match `value`. */
export const recordOf = <const S extends v.GenericSchema>(value: S) =>
  plain(v.record(v.string(), value, expected("an object")));

/** A JSON object of string values (annotations, sysctl, unified). */
export const StringMap = recordOf(Str);

/** An integer within [min, max]; `what` names the range in messages. */
export function integer(min: number, max: number, what: string) {
  const message = expected(what);
  return v.pipe(
    v.number(message),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, message),
  );
}
export const Int32 = integer(-(2 ** 31), 2 ** 31 - 1, "an integer from -2147483648 to 2147483647");
export const Int64 = integer(-Infinity, Infinity, "an integer");
export const Uint16 = integer(0, 2 ** 16 - 1, "an integer from 0 to 65535");
export const Uint32 = integer(0, 2 ** 32 - 1, "an integer from 0 to 4294967295");
export const Uint64 = integer(0, Infinity, "a non-negative integer");

/** An absolute path (starts with "/"). */
export const AbsolutePath = v.pipe(
  v.string(expected("an absolute path")),
  v.check((s) => s.startsWith("/"), expected("an absolute path")),
);

/** One of a fixed set of strings; the message lists them. */
export const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, expected(`one of ${options.join(", ")}`));

/** A string matching `re`; `what` describes the format in messages. */
export const matching = (re: RegExp, what: string) =>
  v.pipe(v.string(expected(what)), v.regex(re, expected(what)));

/** A JSON object; unknown keys are kept, as the spec requires. */
export const obj = <const E extends v.ObjectEntries>(entries: E) =>
  plain(v.looseObject(entries, expected("an object")));

export const arrayOf = <const T extends v.GenericSchema>(item: T) => v.array(item, expected("an array"));

export const opt = v.optional;

/**
 * A schema built on its first use. Building every schema of config.json costs
 * ~1 ms of interpreted start-up in the compiled executable (measured), and most
 * configs leave most sections out, so the sections a config may omit are
 * deferred. Validation and its messages are the same: v.lazy adds no path item.
 */
export function deferred<const S extends v.GenericSchema>(build: () => S): v.LazySchema<S> {
  let schema: S | undefined;
  return v.lazy(() => (schema ??= build()));
}

// ---------------------------------------------------------------------------
// linux.resources
// ---------------------------------------------------------------------------

/** An entry of the device cgroup allow/deny list. */
export const LinuxDeviceCgroup = deferred(() =>
  obj({
    allow: Bool,
    type: opt(oneOf(["a", "c", "b"])),
    major: opt(Int64),
    minor: opt(Int64),
    // Letters other than r, w, m are dropped with a warning as runc ignores them (src/cgroups/devices.ts).
    access: opt(Str),
  }),
);

/** memory controller; int64 limits use -1 for "unlimited". */
export const LinuxMemory = deferred(() =>
  obj({
    limit: opt(Int64),
    reservation: opt(Int64),
    swap: opt(Int64),
    kernel: opt(Int64),
    kernelTCP: opt(Int64),
    swappiness: opt(Uint64),
    disableOOMKiller: opt(Bool),
    useHierarchy: opt(Bool),
    checkBeforeUpdate: opt(Bool),
  }),
);

/** cpu and cpuset controllers. */
export const LinuxCPU = deferred(() =>
  obj({
    shares: opt(Uint64),
    quota: opt(Int64),
    burst: opt(Uint64),
    period: opt(Uint64),
    realtimeRuntime: opt(Int64),
    realtimePeriod: opt(Uint64),
    cpus: opt(Str),
    mems: opt(Str),
    idle: opt(Int64),
  }),
);

/** pids controller; -1 means "max". */
export const LinuxPids = deferred(() =>
  obj({
    limit: opt(Int64),
  }),
);

const blockIODevice = { major: Int64, minor: Int64 };

/** A `major:minor weight` pair of blockIO.weightDevice. */
export const LinuxWeightDevice = deferred(() =>
  obj({
    ...blockIODevice,
    weight: opt(Uint16),
    leafWeight: opt(Uint16),
  }),
);

/** A `major:minor rate` pair of the blockIO.throttle*Device lists. */
export const LinuxThrottleDevice = deferred(() =>
  obj({
    ...blockIODevice,
    rate: Uint64,
  }),
);

/** blkio / io controller. */
export const LinuxBlockIO = deferred(() =>
  obj({
    weight: opt(Uint16),
    leafWeight: opt(Uint16),
    weightDevice: opt(arrayOf(LinuxWeightDevice)),
    throttleReadBpsDevice: opt(arrayOf(LinuxThrottleDevice)),
    throttleWriteBpsDevice: opt(arrayOf(LinuxThrottleDevice)),
    throttleReadIOPSDevice: opt(arrayOf(LinuxThrottleDevice)),
    throttleWriteIOPSDevice: opt(arrayOf(LinuxThrottleDevice)),
  }),
);

/** hugetlb controller entry. */
export const LinuxHugepageLimit = deferred(() =>
  obj({
    pageSize: matching(/^[1-9][0-9]*[KMG]B$/, 'a page size like "2MB"'),
    limit: Uint64,
  }),
);

/** net_prio priority of one interface. */
export const LinuxInterfacePriority = obj({
  name: Str,
  priority: Uint32,
});

/** net_cls and net_prio controllers. */
export const LinuxNetwork = deferred(() =>
  obj({
    classID: opt(Uint32),
    priorities: opt(arrayOf(LinuxInterfacePriority)),
  }),
);

/** rdma controller limits of one device. */
export const LinuxRdma = deferred(() =>
  obj({
    hcaHandles: opt(Uint32),
    hcaObjects: opt(Uint32),
  }),
);

/** `linux.resources`: cgroup limits of the container. */
export const LinuxResources = obj({
  devices: opt(arrayOf(LinuxDeviceCgroup)),
  memory: opt(LinuxMemory),
  cpu: opt(LinuxCPU),
  pids: opt(LinuxPids),
  blockIO: opt(LinuxBlockIO),
  hugepageLimits: opt(arrayOf(LinuxHugepageLimit)),
  network: opt(LinuxNetwork),
  rdma: opt(recordOf(LinuxRdma)),
  unified: opt(StringMap),
});

/** The validated `linux.resources` object. */
export type LinuxResources = v.InferOutput<typeof LinuxResources>;
