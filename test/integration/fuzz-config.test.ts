/**
 * Config fuzzing (issue 14): valid configs in three shapes — runc's default
 * spec, a podman-style one, a containerd-style one — mutated at random by
 * fast-check (wrong types, huge and negative numbers, deep nesting, long,
 * unicode and NUL strings, missing and duplicated fields, relative and `..`
 * paths), each run through create → start → delete with the compiled binary.
 * Every attempt works or ends with one clear error line — no stack trace, no
 * Bun crash, no signal — and leaves nothing: a failed create leaves no state
 * dir, and after every attempt no process of the container, and at the end
 * no mount or cgroup directory the run made.
 *
 * The seed is fixed (BUNC_FUZZ_SEED, default 11) and printed with the failing
 * config on failure; BUNC_FUZZ_RUNS (default 300) sets the count, the soak
 * script runs thousands. Mutations never remove the config's new mount
 * namespace (a bug there would mount over the test host's own /dev; that
 * path has its own tests) and never touch linux.cgroupsPath (set per attempt
 * to a fresh path: a cgroup shared with the host's processes would make
 * delete -f kill them, as it does under runc).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import fc from "fast-check";
import { cgroupHierarchies, integrationSkipReason, Sandbox } from "../harness";
import { processesOf } from "./cli-helpers";
import { added, snapshot } from "../../scripts/_soak/host";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping the config fuzzer: ${skip}`);
const RUNS = Number(process.env.BUNC_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.BUNC_FUZZ_SEED ?? 11);
/** BUNC_FUZZ_LOG=FILE: every create's exit code and stderr, to read what the refusals say. */
const LOG = process.env.BUNC_FUZZ_LOG;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Config = Record<string, any>;

/** podman 4's shape: its /dev options, /dev/shm size, a sysctl, rlimits, capabilities, masked paths. */
function podmanStyle(base: Config): Config {
  const c = structuredClone(base);
  c.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }, { type: "RLIMIT_NPROC", hard: 4096, soft: 4096 }];
  c.process.env.push("container=podman", "HOSTNAME=fuzz");
  c.process.oomScoreAdj = 0;
  c.process.user.additionalGids = [0, 10];
  c.mounts = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["rw", "nosuid", "nodev", "noexec", "relatime", "size=64000k"] },
    { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
  c.linux.sysctl = { "net.ipv4.ping_group_range": "0 0" };
  c.linux.resources = { pids: { limit: 2048 }, devices: [{ allow: false, access: "rwm" }] };
  c.linux.maskedPaths.push("/sys/devices/virtual/powercap");
  c.annotations = { "io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15" };
  return c;
}

/** containerd 1.6's default spec shape: its mounts, /run, device rules, CPU shares. */
function containerdStyle(base: Config): Config {
  const c = structuredClone(base);
  c.mounts.push({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] });
  c.linux.resources = {
    devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }],
    cpu: { shares: 1024 },
  };
  c.linux.namespaces.push({ type: "cgroup" });
  c.process.capabilities.bounding.push("CAP_NET_RAW");
  c.annotations = { "io.containerd.image.name": "localhost/busybox:latest" };
  return c;
}

/** Every path (as keys) to a value in v, the root excluded. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== "object") return [];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...at, k], ...paths((v as any)[k], [...at, k])]);
}

const nested = (depth: number): Json => (depth === 0 ? "deep" : depth % 2 ? [nested(depth - 1)] : { n: nested(depth - 1) });
/** Values a config field should never hold. */
const junk: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constant(undefined), // the field removed
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 63), 1e308, -1e308, "", [], {}, [null], { "": null }),
  fc.constantFrom<Json>("..", "../..", "/..", "../../etc", "relative/path", "/proc/self/fd/3", "/dev/../../", "a\0b", "\0", "💥", "x".repeat(5000), "/".repeat(300)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.integer(),
  fc.constant(nested(200)),
);

const protectedPath = (p: (string | number)[]) => p[0] === "root" || (p[0] === "linux" && (p[1] === "cgroupsPath" || p[1] === "namespaces"));

interface Mutation {
  path: (string | number)[];
  value: Json | undefined;
  duplicate: boolean;
}

function mutate(config: Config, mutations: Mutation[]): Config {
  const c = structuredClone(config);
  for (const m of mutations) {
    let parent: any = c;
    for (const k of m.path.slice(0, -1)) {
      if (parent === null || typeof parent !== "object") break;
      parent = parent[k];
    }
    if (parent === null || typeof parent !== "object") continue;
    const key = m.path[m.path.length - 1]!;
    if (m.duplicate && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
    else if (m.value === undefined) Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key];
    // A copy: the junk values are shared constants, and a later mutation or the cgroupsPath set per
    // attempt would write into them (the 5000-run fuzz made one cyclic, which JSON.stringify refused).
    else parent[key] = structuredClone(m.value);
  }
  return c;
}

/** stderr is bunc's own lines only ("bunc: …"), and a failure is exactly one non-warning line. */
function clearOutcome(code: number, stderr: string): string | undefined {
  const lines = stderr.split("\n").filter(Boolean);
  if (/panic|Bun has crashed|Segmentation fault|bun\.report|^\s+at /m.test(stderr)) return `a crash or a stack trace: ${stderr}`;
  if (code > 128 && code !== 255) return `exit ${code}: killed by a signal?`;
  const foreign = lines.filter((l) => !l.startsWith("bunc: "));
  if (foreign.length > 0) return `lines that are not bunc's: ${foreign.join(" | ")}`;
  const errors = lines.filter((l) => !l.startsWith("bunc: warning: "));
  if (code !== 0 && errors.length !== 1) return `exit ${code} with ${errors.length} error lines: ${stderr}`;
  if (code === 0 && errors.length !== 0) return `exit 0 with error lines: ${stderr}`;
  return undefined;
}

describe.skipIf(!!skip)("config fuzzing", () => {
  const sb = new Sandbox();
  afterAll(() => {
    sb.cleanup();
    // The attempts' common parent, in every hierarchy: removed unless another run still fuzzes in it (EBUSY).
    for (const h of cgroupHierarchies())
      try {
        rmdirSync(`/sys/fs/cgroup/${h}/bunc-fuzz`);
      } catch {
        // Not there, or busy.
      }
  });

  test(`${RUNS} mutated configs (seed ${SEED}): each works or fails with one clear line, and nothing is left behind`, () => {
    const template = sb.bundle(["true"]);
    const rootfs = path.join(template, "rootfs");
    const base: Config = JSON.parse(readFileSync(path.join(template, "config.json"), "utf8"));
    base.root = { path: rootfs, readonly: false };
    const seeds = [base, podmanStyle(base), containerdStyle(base)];
    const seedPaths = seeds.map((s) => paths(s).filter((p) => !protectedPath(p)));
    const prefix = `fz-${process.pid}-`;
    const before = snapshot();
    let n = 0;
    let created = 0;

    const mutation = (seed: number) =>
      fc.record({ path: fc.constantFrom(...seedPaths[seed]!), value: junk, duplicate: fc.boolean() }, { requiredKeys: ["path", "value", "duplicate"] }) as fc.Arbitrary<Mutation>;
    const attempt = fc.integer({ min: 0, max: seeds.length - 1 }).chain((seed) => fc.tuple(fc.constant(seed), fc.array(mutation(seed), { minLength: 1, maxLength: 3 })));

    fc.assert(
      fc.property(attempt, ([seed, mutations]) => {
        const config = mutate(seeds[seed]!, mutations);
        const id = `${prefix}${++n}`;
        const bundle = path.join(sb.dir, `fz-${n}`);
        mkdirSync(bundle);
        if (config.linux && typeof config.linux === "object" && !Array.isArray(config.linux)) config.linux.cgroupsPath = `/bunc-fuzz/${id}`;
        writeFileSync(path.join(bundle, "config.json"), JSON.stringify(config));
        const problems: string[] = [];
        const create = sb.bunc(["create", "-b", bundle, id], { timeoutMs: 15_000 });
        if (LOG) appendFileSync(LOG, `${id} create ${create.code}: ${create.stderr.trim()}\n`);
        const why = clearOutcome(create.code, create.stderr);
        if (why) problems.push(`create: ${why}`);
        if (create.code === 0) {
          created++;
          const start = sb.bunc(["start", id], { timeoutMs: 15_000 });
          const whyStart = clearOutcome(start.code, start.stderr);
          if (whyStart) problems.push(`start: ${whyStart}`);
        } else if (existsSync(path.join(sb.root, id))) problems.push(`a failed create left its state dir`);
        const del = sb.bunc(["delete", "-f", id], { timeoutMs: 15_000 });
        if (create.code === 0 && del.code !== 0) problems.push(`delete -f: exit ${del.code}: ${del.stderr}`);
        if (existsSync(path.join(sb.root, id))) problems.push("delete -f left the state dir");
        problems.push(...processesOf({ id, rootfs }));
        if (problems.length > 0) {
          const report = `${problems.join("\n")}\nconfig: ${JSON.stringify(config).slice(0, 4000)}`;
          console.error(`config fuzzing, attempt ${id}: ${report}`);
          throw new Error(report);
        }
      }),
      { numRuns: RUNS, seed: SEED, verbose: 1 },
    );
    console.log(`config fuzzing: ${n} attempts (shrinking included), ${created} created and started, the rest refused with one line`);
    // Ours only: other test runs on this host fuzz under /bunc-fuzz at the same time.
    expect(added(before).filter((l) => l.includes(prefix) || l.includes(sb.dir))).toEqual([]);
    // Every attempt so far passed; a run where nothing was ever created would test only the schema.
    expect(created).toBeGreaterThan(RUNS / 20);
  }, Math.max(1_800_000, RUNS * 2_000));
});
