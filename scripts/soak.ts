#!/usr/bin/env bun
/**
 * The soak (issue 14), as root, after `bun scripts/build.ts`:
 *
 *   bun scripts/soak.ts [--sequential 1000] [--parallel 50] [--batches 20] [--json FILE]
 *
 * Runs containers through dist/bunc one after another (create, start, wait
 * until stopped, delete) and then in batches of --parallel at once, then
 * checks that nothing leaked: no mount, no cgroup directory, no state dir, no
 * process of the run is left. It also reports the time per container of the
 * first and the last hundred of the sequence: a growth of more than 2× fails
 * (a leak of state that slows every command, not a benchmark — see
 * scripts/bench for that). Exits 1 on any leak, failure or growth. CI runs a
 * short one (test/integration/soak.test.ts); the fuzzers' long runs are
 * `BUNC_FUZZ_RUNS=5000 BUNC_FUZZ_SECCOMP_RUNS=500 bun test test/integration/fuzz-*.test.ts`.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { parseArgs } from "node:util";
import { added, snapshot } from "./_soak/host";
import { makeBundle } from "./rootfs";

const root = path.resolve(import.meta.dir, "..");
const BUNC = path.join(root, "dist/bunc");

export interface SoakResult {
  sequential: number;
  parallel: number;
  failures: string[];
  leaks: string[];
  /** How many containers the first and last windows of the sequence hold (100, or half a shorter run). */
  window: number;
  firstHundredMs: number;
  lastHundredMs: number;
  growth: number;
  seconds: number;
}

/** Processes whose command line names one of the run's ids or whose cwd/root is in its dir. */
function strays(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes(prefix) || cmd.includes(dir)) out.push(`process ${pid}: ${cmd.split("\0").join(" ")}`);
    } catch {
      // Gone.
    }
  }
  return out;
}

let errFiles = 0;
/** bunc's exit code and stderr; stderr through a file, since a created container inherits it and would hold a pipe open. */
function bunc(rootDir: string, args: string[]): { code: number; stderr: string } {
  const file = path.join(path.dirname(rootDir), `stderr-${process.pid}-${++errFiles}`);
  const fd = openSync(file, "w+");
  try {
    const p = Bun.spawnSync([BUNC, "--root", rootDir, ...args], { stdin: "ignore", stdout: "ignore", stderr: fd, timeout: 30_000, killSignal: "SIGKILL" });
    return { code: p.exitCode ?? 137, stderr: readFileSync(file, "utf8") };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** One container's life; a failure's description, or undefined. */
function lifecycle(rootDir: string, bundle: string, id: string): string | undefined {
  const c = bunc(rootDir, ["create", "-b", bundle, id]);
  if (c.code !== 0) return `create ${id}: ${c.stderr.trim()}`;
  const s = bunc(rootDir, ["start", id]);
  if (s.code !== 0) return `start ${id}: ${s.stderr.trim()}`;
  const end = Date.now() + 10_000;
  for (;;) {
    const st = Bun.spawnSync([BUNC, "--root", rootDir, "state", id], { stdout: "pipe", stderr: "pipe" });
    if (st.exitCode === 0 && JSON.parse(st.stdout.toString()).status === "stopped") break;
    if (Date.now() > end) return `${id} did not stop`;
    Bun.sleepSync(2);
  }
  const d = bunc(rootDir, ["delete", id]);
  return d.code === 0 ? undefined : `delete ${id}: ${d.stderr.trim()}`;
}

export async function soak(opts: { sequential: number; parallel: number; batches: number }): Promise<SoakResult> {
  if (!existsSync(BUNC)) throw new Error(`${BUNC} is missing: bun scripts/build.ts`);
  const dir = mkdtempSync(path.join(tmpdir(), "bunc-soak-"));
  const rootDir = path.join(dir, "state");
  const bundle = path.join(dir, "bundle");
  makeBundle(bundle, ["true"]);
  const prefix = `soak-${process.pid}-`;
  const before = snapshot();
  const failures: string[] = [];
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < opts.sequential; i++) {
    const start = performance.now();
    const f = lifecycle(rootDir, bundle, `${prefix}s${i}`);
    times.push(performance.now() - start);
    if (f) failures.push(f);
  }
  // In parallel: each container its own process running the same life cycle.
  const worker = (id: string) =>
    Bun.spawn([process.execPath, import.meta.path, "--one", id, "--root", rootDir, "--bundle", bundle], { stdout: "pipe", stderr: "pipe" });
  for (let b = 0; b < opts.batches; b++) {
    const procs = Array.from({ length: opts.parallel }, (_, i) => worker(`${prefix}p${b}-${i}`));
    for (const p of procs) {
      if ((await p.exited) !== 0) failures.push((await new Response(p.stderr).text()).trim() || `worker exit ${p.exitCode}`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  Bun.sleepSync(200);
  const leaks = added(before).filter((x) => x.includes(prefix) || x.includes(dir));
  leaks.push(...strays(dir, prefix));
  if (existsSync(rootDir)) leaks.push(...readdirSync(rootDir).map((n) => `state dir ${n}`));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const hundred = Math.min(100, Math.floor(times.length / 2));
  const first = mean(times.slice(0, hundred));
  const last = mean(times.slice(-hundred));
  rmSync(dir, { recursive: true, force: true });
  return { sequential: opts.sequential, parallel: opts.parallel * opts.batches, failures, leaks, window: hundred, firstHundredMs: first, lastHundredMs: last, growth: first ? last / first : 1, seconds };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      sequential: { type: "string", default: "1000" },
      parallel: { type: "string", default: "50" },
      batches: { type: "string", default: "20" },
      json: { type: "string" },
      one: { type: "string" },
      root: { type: "string" },
      bundle: { type: "string" },
    },
  });
  if (values.one) {
    const f = lifecycle(values.root!, values.bundle!, values.one);
    if (f) console.error(f);
    process.exit(f ? 1 : 0);
  }
  const r = await soak({ sequential: Number(values.sequential), parallel: Number(values.parallel), batches: Number(values.batches) });
  console.log(`soak: ${r.sequential} containers in sequence, ${r.parallel} in batches of ${values.parallel}, ${r.seconds.toFixed(1)} s`);
  console.log(`time per container: first ${r.window} ${r.firstHundredMs.toFixed(1)} ms, last ${r.window} ${r.lastHundredMs.toFixed(1)} ms (×${r.growth.toFixed(2)})`);
  console.log(`failures: ${r.failures.length}${r.failures.length ? `\n  ${r.failures.slice(0, 10).join("\n  ")}` : ""}`);
  console.log(`leaks: ${r.leaks.length}${r.leaks.length ? `\n  ${r.leaks.slice(0, 20).join("\n  ")}` : ""}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2));
  process.exit(r.failures.length || r.leaks.length || r.growth > 2 ? 1 : 0);
}
