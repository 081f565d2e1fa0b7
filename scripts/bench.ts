#!/usr/bin/env bun
/**
 * The benchmark: bunc, runc and crun side by side, in three cgroup settings,
 * in one run. `bash scripts/bench` installs what it needs and builds first.
 *
 *   bun scripts/bench.ts [--runs N] [--warmup N] [--seq N] [--par N] [--rounds N] [--client-rounds N] [--no-clients] [--out DIR] [--note TEXT] [--only host,v1,v2]
 *
 * Settings (each figure says which it was taken under):
 *   host  the host as it is: cgroup v1 hybrid (crun refuses it);
 *   v1    a private mount namespace where /sys/fs/cgroup/unified is unmounted,
 *         so every runtime sees plain cgroup v1 and all three set limits;
 *   v2    a private mount namespace that sees only cgroup2; the bundle has no
 *         device rules (bunc refuses them on v2) and no /sys/fs/cgroup mount.
 * The namespace settings re-run this script inside `unshare -m` with
 * --inner SETTING; mounts there are private and never touch the host's.
 * On the host setting also: each verb beside the floor (a compiled hello-world)
 * and runc, --rounds interleaved rounds (_bench/verbs.ts); podman's and
 * containerd's scenarios, --client-rounds interleaved rounds, and a trace of
 * every runtime call they make (_bench/clients.ts; --no-clients skips them).
 * Writes OUT/bench.json, OUT/bench.md (the generated block between markers,
 * hand-written analysis kept) and OUT/bench.svg. Timings never fail it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { makeBundle } from "./rootfs";
import { measureImages } from "./_bench/images";
import { Runner, sh, type Ctx } from "./_bench/measure";
import { buildFloor } from "./_bench/floor";
import { measureVerbs } from "./_bench/verbs";
import { measureClients } from "./_bench/clients";
import { mergeIntoDoc, renderMarkdown, renderSvg, type BenchResults, type Check, type Figure, type RuntimeRun, type SettingResult } from "./_bench/report";

const ROOT = path.resolve(import.meta.dir, "..");
const LIMITS = [256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20];

interface Options {
  runs: number;
  warmup: number;
  rounds: number;
  clientRounds: number;
  clients: boolean;
  seq: number;
  par: number;
  out: string;
  note: string;
  only: string[];
  bunc: string;
  inner?: string;
  json?: string;
  tmp?: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { runs: 30, warmup: 3, rounds: 30, clientRounds: 10, clients: true, seq: 100, par: 20, out: path.join(ROOT, "results"), note: "", only: ["host", "v1", "v2"], bunc: path.join(ROOT, "dist/bunc") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const int = () => {
      const n = Number(v());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`);
      return n;
    };
    if (a === "--runs") o.runs = int();
    else if (a === "--warmup") o.warmup = Number(v());
    else if (a === "--seq") o.seq = int();
    else if (a === "--rounds") o.rounds = int();
    else if (a === "--client-rounds") o.clientRounds = int();
    else if (a === "--no-clients") o.clients = false;
    else if (a === "--par") o.par = int();
    else if (a === "--out") o.out = path.resolve(v());
    else if (a === "--note") o.note = v();
    else if (a === "--only") o.only = v().split(",");
    else if (a === "--bunc") o.bunc = path.resolve(v());
    else if (a === "--inner") o.inner = v();
    else if (a === "--json") o.json = v();
    else if (a === "--tmp") o.tmp = v();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** The runtimes of a setting: each with its own state root. */
function runtimes(setting: string, o: Options, tmp: string): RuntimeRun[] {
  const root = (k: string) => path.join(tmp, "roots", setting, k);
  const list: RuntimeRun[] = [
    { key: "bunc", label: "bunc", argv: [o.bunc, "--root", root("bunc")] },
    { key: "runc", label: "runc", argv: [which("runc"), "--root", root("runc")] },
    { key: "crun", label: "crun", argv: [which("crun"), "--root", root("crun")] },
  ];
  if (setting === "v2") list.push({ key: "crun-nocg", label: "crun --cgroup-manager=disabled", argv: [which("crun"), "--root", root("crun-nocg"), "--cgroup-manager=disabled"] });
  return list;
}

function which(cmd: string): string {
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) if (existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  return cmd;
}

const SETTINGS: Record<string, { title: string; how: string; setup?: string }> = {
  host: {
    title: "the host's cgroup v1 hybrid",
    how: "The host as it is: v1 controllers under /sys/fs/cgroup/NAME, cgroup2 at /sys/fs/cgroup/unified (hugetlb only). Bundle: runc's default spec (`/bin/true`, deny-all device rule, /sys/fs/cgroup mount).",
  },
  v1: {
    title: "cgroup v1 only (unified hierarchy hidden)",
    how: "`unshare -m --propagation private`, then `umount /sys/fs/cgroup/unified` in that namespace only: every runtime sees plain cgroup v1 (crun's legacy mode) and creates a cgroup with the same limits. Same bundle as `host`.",
    setup: "umount /sys/fs/cgroup/unified",
  },
  v2: {
    title: "cgroup2 only",
    how: "`unshare -m --propagation private`, then `umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup` in that namespace only (the host's cgroup2 is never remounted). This host's cgroup2 has no memory controller (memory is bound to v1). Bundle: as `host` but with no device rules (bunc refuses them on v2) and no /sys/fs/cgroup mount. crun runs twice: with its cgroupfs manager (the like-for-like column, ratios taken against it) and with `--cgroup-manager=disabled`.",
    setup: "umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup",
  },
};

/** The bundles of a setting, in tmp/bundles/SETTING: /bin/true and a sleep for exec, sharing one rootfs. */
function bundles(setting: string, tmp: string): Pick<Ctx, "bundle" | "execBundle" | "rootfs" | "config"> {
  const base = path.join(tmp, "bundle");
  if (!existsSync(path.join(base, "config.json"))) makeBundle(base, ["/bin/true"]);
  const rootfs = path.join(base, "rootfs");
  const config = JSON.parse(readFileSync(path.join(base, "config.json"), "utf8"));
  config.root.path = rootfs;
  config.process.terminal = false;
  if (setting === "v2") {
    delete config.linux.resources.devices;
    config.mounts = config.mounts.filter((m: { destination: string }) => m.destination !== "/sys/fs/cgroup");
  }
  const write = (name: string, args: string[]) => {
    const dir = path.join(tmp, "bundles", setting, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, process: { ...config.process, args } }, null, 1));
    return dir;
  };
  return { bundle: write("true", ["/bin/true"]), execBundle: write("sleep", ["/bin/sleep", "100000"]), rootfs, config };
}

/** Whether this mount namespace can set a memory limit. */
function memoryAvailable(): string | undefined {
  if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")) return undefined;
  try {
    if (readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("memory")) return undefined;
  } catch {}
  return "no memory controller in this view (on this host memory is bound to the v1 hierarchy)";
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Measure every runtime in the current mount namespace. */
function measureSetting(setting: string, o: Options, tmp: string): { result: SettingResult; maps?: string; fds?: string[] } {
  const ctx: Ctx = { runs: o.runs, warmup: o.warmup, seq: o.seq, par: o.par, tmp, ...bundles(setting, tmp), noMemory: memoryAvailable() };
  const rts = runtimes(setting, o, tmp);
  const figures: SettingResult["figures"] = {};
  const put = (metric: string, key: string, f: Figure) => ((figures[metric] ??= {})[key] = f);
  let maps: string | undefined;
  let fds: string[] | undefined;
  for (const rt of rts) {
    const r = new Runner(rt, ctx);
    log(`${setting}: ${rt.label}: run`);
    const run = r.run();
    put("run", rt.key, run.mean);
    put("run.median", rt.key, run.median);
    if ("na" in run.mean) {
      // One reason for the rest: a runtime that cannot run /bin/true here cannot be measured here.
      for (const m of ["create", "start", "delete", "state", "exec", "seq.cpu", "seq.wall", "par.wall", "create.maxrss", "waiting.rss", "waiting.pss", "memlimit"]) put(m, rt.key, { na: "cannot run /bin/true in this setting (see the `run` row)" });
      put("version", rt.key, r.version());
      continue;
    }
    log(`${setting}: ${rt.label}: create, start, delete, state, --version, exec`);
    const life = r.lifecycle();
    put("create", rt.key, life.create);
    put("start", rt.key, life.start);
    put("delete", rt.key, life.delete);
    put("state", rt.key, r.state());
    put("version", rt.key, r.version());
    put("exec", rt.key, r.execTrue());
    log(`${setting}: ${rt.label}: ${o.seq} sequential, ${o.par} parallel`);
    const seq = r.sequential();
    put("seq.cpu", rt.key, seq.cpu);
    put("seq.wall", rt.key, seq.wall);
    put("par.wall", rt.key, r.parallel());
    log(`${setting}: ${rt.label}: memory`);
    const mem = r.memory();
    put("create.maxrss", rt.key, mem.maxrss);
    put("waiting.rss", rt.key, mem.rss);
    put("waiting.pss", rt.key, mem.pss);
    if (rt.key === "bunc") {
      maps = mem.maps;
      fds = mem.fds;
    }
    put("memlimit", rt.key, r.memoryLimit(LIMITS));
  }
  const s = SETTINGS[setting]!;
  return { result: { id: setting, title: s.title, how: s.how, runtimes: rts, figures }, maps, fds };
}

/** Run one namespace setting in a child `unshare -m`, reading back its JSON. */
function measureInNamespace(setting: string, o: Options, tmp: string): SettingResult {
  const json = path.join(tmp, `setting-${setting}.json`);
  const argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", `${SETTINGS[setting]!.setup} && exec "$0" "$@"`, process.execPath, import.meta.path, "--inner", setting, "--json", json, "--tmp", tmp, "--bunc", o.bunc, "--runs", String(o.runs), "--warmup", String(o.warmup), "--seq", String(o.seq), "--par", String(o.par)];
  const p = Bun.spawnSync(argv, { stdio: ["ignore", "inherit", "inherit"] });
  if (p.exitCode !== 0 || !existsSync(json)) {
    const na = { na: `the ${setting} namespace could not be set up or measured (exit ${p.exitCode})` };
    const rts = runtimes(setting, o, tmp);
    const s = SETTINGS[setting]!;
    return { id: setting, title: s.title, how: s.how, runtimes: rts, figures: { run: Object.fromEntries(rts.map((r) => [r.key, na])) } };
  }
  return JSON.parse(readFileSync(json, "utf8")).result as SettingResult;
}

/** Non-timing targets, checked on the host. */
function checks(o: Options, tmp: string, maps?: string, fds?: string[]): Check[] {
  const out: Check[] = [];
  // The executor is loaded by writing executor.so to a memfd named bunc-executor.so (ffi/executor.ts).
  const traced = (args: string[]) => {
    const f = path.join(tmp, `strace-${args[0]}.txt`);
    // Not -f: a created container's waiting process would keep strace, and us, waiting.
    sh(tmp, ["strace", "-qq", "-e", "trace=memfd_create", "-o", f, o.bunc, "--root", path.join(tmp, "roots", "check"), ...args]);
    return existsSync(f) ? readFileSync(f, "utf8").includes("bunc-executor") : undefined;
  };
  if (!existsSync("/usr/bin/strace")) out.push({ name: "non-starting commands do not load the C executor", ok: undefined, detail: "n/a: strace is not installed" });
  else {
    const bundle = path.join(tmp, "bundles", "host", "true");
    const id = "bench-check";
    const loads: Record<string, boolean | undefined> = {};
    loads["create (control)"] = traced(["create", "-b", bundle, id]);
    for (const args of [["state", id], ["list"], ["kill", id, "KILL"], ["delete", "-f", id], ["--version"]]) loads[args[0]!] = traced(args);
    const idle = Object.entries(loads).filter(([k]) => k !== "create (control)");
    out.push({
      name: "non-starting commands do not load the C executor",
      ok: loads["create (control)"] === true && idle.every(([, v]) => v === false),
      detail: `memfd_create("bunc-executor.so") under strace: ${Object.entries(loads).map(([k, v]) => `${k} ${v ? "loads" : "no"}`).join(", ")} (executor.so is precompiled at build time; nothing is compiled at run time)`,
    });
  }
  if (maps === undefined) out.push({ name: "no copy of the bunc executable per container", ok: undefined, detail: "n/a: no waiting bunc process was observed" });
  else {
    const memfds = maps.split("\n").filter((l) => l.includes("memfd:"));
    const sizes = new Map<string, number>();
    for (const l of memfds) {
      const [range] = l.split(" ");
      const [a, b] = range!.split("-").map((x) => parseInt(x, 16));
      const name = l.slice(l.indexOf("memfd:"));
      sizes.set(name, (sizes.get(name) ?? 0) + (b! - a!));
    }
    const biggest = Math.max(0, ...sizes.values());
    const exe = maps.split("\n").find((l) => l.endsWith(o.bunc)) ? `maps ${o.bunc} from its file (page cache, shared)` : "does not map the bunc file";
    const memfdFds = (fds ?? []).filter((f) => f.includes("memfd"));
    out.push({
      name: "no copy of the bunc executable per container",
      ok: biggest < 1 << 20 && memfdFds.length === 0,
      detail: `a created container's waiting process ${exe}; memfd mappings: ${sizes.size ? [...sizes].map(([k, v]) => `${k} ${Math.round(v / 1024)} KiB`).join(", ") : "none"}; memfd fds: ${memfdFds.length ? memfdFds.join(", ") : "none"}`,
    });
  }
  return out;
}

function version(argv: string[]): string {
  const r = Bun.spawnSync(argv);
  return r.stdout.toString().trim().split("\n")[0] ?? "?";
}

function conditions(o: Options, phase: "start" | "end", into: Record<string, string>): void {
  const load = readFileSync("/proc/loadavg", "utf8").trim().split(" ").slice(0, 3).join(" ");
  if (phase === "end") {
    into["load average at end"] = load;
    return;
  }
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  const mem = /MemTotal:\s*(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
  const commit = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.toString().trim();
  const dirty = Bun.spawnSync(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).stdout.toString().trim() ? " (+ uncommitted changes)" : "";
  Object.assign(into, {
    date: new Date().toISOString(),
    machine: `${cpu}, ${Bun.spawnSync(["nproc"]).stdout.toString().trim()} CPUs, ${mem ? Math.round(Number(mem) / 1024 / 1024) : "?"} GiB, kernel ${version(["uname", "-r"])}`,
    "load average at start": load,
    bunc: `${Bun.spawnSync([o.bunc, "--version"]).stdout.toString().trim().split("\n").join(", ")}, commit ${commit}${dirty}`,
    runc: version([which("runc"), "--version"]),
    crun: version([which("crun"), "--version"]),
    hyperfine: `${version(["hyperfine", "--version"])}, -N (no shell), ${o.warmup} warm-up + ${o.runs} runs per command`,
    counts: `${o.seq} sequential containers, ${o.par} parallel`,
  });
  if (o.note) into.note = o.note;
}

function sizes(o: Options): Record<string, Figure> {
  const size = (p: string, note: string): Figure => (existsSync(p) ? { value: statSync(p).size, note } : { na: `${p} not found` });
  return {
    bunc: size(o.bunc, "static Bun runtime + bytecode + executor.so; links only glibc"),
    runc: size(which("runc"), "Go, links libseccomp"),
    crun: size(which("crun"), "C; shared libraries (libyajl, libseccomp, libcap, libsystemd) not counted"),
  };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (o.inner) {
    const tmp = o.tmp ?? mkdtempSync("/tmp/bunc-bench.");
    const { result, maps, fds } = measureSetting(o.inner, o, tmp);
    writeFileSync(o.json ?? path.join(tmp, `setting-${o.inner}.json`), JSON.stringify({ result, maps, fds }));
    return 0;
  }
  if (process.getuid?.() !== 0) throw new Error("the benchmark runs containers: run it as root");
  if (!existsSync(o.bunc)) throw new Error(`${o.bunc} is missing: bun scripts/build.ts`);
  const tmp = mkdtempSync("/tmp/bunc-bench.");
  try {
    const cond: Record<string, string> = {};
    conditions(o, "start", cond);
    const settings: SettingResult[] = [];
    let maps: string | undefined;
    let fds: string[] | undefined;
    for (const s of o.only) {
      if (!SETTINGS[s]) throw new Error(`unknown setting ${s} (host, v1, v2)`);
      log(`setting ${s}: ${SETTINGS[s]!.title}`);
      if (s === "host") {
        const m = measureSetting("host", o, tmp);
        settings.push(m.result);
        maps = m.maps;
        fds = m.fds;
      } else settings.push(measureInNamespace(s, o, tmp));
    }
    const host = bundles("host", tmp);
    log(`host: each verb beside the floor, ${o.rounds} interleaved rounds`);
    const floor = await buildFloor(tmp);
    const rts = Object.fromEntries(runtimes("host", o, tmp).map((r) => [r.key, r.argv]));
    // crun refuses the hybrid host (see the `host` table): its --version only.
    const verbs = measureVerbs(floor, rts, host.bundle, host.execBundle, o.rounds, Math.min(o.warmup, 2), ["crun"]);
    const clients = o.clients ? measureClients(tmp, { bunc: o.bunc, runc: which("runc"), crun: which("crun") }, o.clientRounds, Math.min(o.warmup, 1), log) : undefined;
    const results: BenchResults = { conditions: cond, settings, sizes: sizes(o), checks: checks(o, tmp, maps, fds), counts: { runs: o.runs, seq: o.seq, par: o.par }, verbs, clients };
    if (o.only.includes("host")) {
      log("images: bunc image run, umoci unpack + runc run, podman run --rm");
      results.images = measureImages(tmp, o.bunc, Math.min(o.runs, 10), Math.min(o.warmup, 2));
    }
    conditions(o, "end", cond);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(path.join(o.out, "bench.json"), JSON.stringify(results, null, 1) + "\n");
    const mdPath = path.join(o.out, "bench.md");
    writeFileSync(mdPath, mergeIntoDoc(existsSync(mdPath) ? readFileSync(mdPath, "utf8") : undefined, renderMarkdown(results)));
    writeFileSync(path.join(o.out, "bench.svg"), renderSvg(results));
    log(`wrote ${mdPath}, bench.svg and bench.json`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
