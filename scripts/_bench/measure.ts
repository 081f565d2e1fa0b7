/**
 * The measuring half of the benchmark: runs one runtime's commands under
 * hyperfine, /usr/bin/time and /proc, and returns Figures. A figure that
 * cannot be taken becomes { na: why } with the runtime's own error line.
 * Every container it makes it deletes again (delete -f), also on failure.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { median, parseHyperfine, parseTime, type Figure, type RuntimeRun } from "./report";

export interface Ctx {
  /** hyperfine runs and warm-ups per command. */
  runs: number;
  warmup: number;
  /** Containers in the sequential and the parallel test. */
  seq: number;
  par: number;
  /** A private scratch directory. */
  tmp: string;
  /** The /bin/true bundle, a `sleep` bundle for exec, and the rootfs they share. */
  bundle: string;
  execBundle: string;
  rootfs: string;
  /** config.json of `bundle`, for the memory-limit variants. */
  config: Record<string, any>;
  /** Why a memory limit cannot be set in this setting, if it cannot. */
  noMemory?: string;
}

export interface Result {
  code: number;
  out: string;
  err: string;
}

/** Quote for sh. */
export function q(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

let seqNo = 0;
/**
 * Run argv to completion with output in files, not pipes: a created
 * container's waiting process inherits stdout/stderr and would hold a pipe
 * open until it exits.
 */
export function sh(tmp: string, argv: string[], timeoutMs = 120_000): Result {
  const n = seqNo++;
  const outPath = `${tmp}/o${n}`;
  const errPath = `${tmp}/e${n}`;
  const o = openSync(outPath, "w");
  const e = openSync(errPath, "w");
  let p;
  try {
    p = Bun.spawnSync(argv, { stdio: ["ignore", o, e], timeout: timeoutMs });
  } finally {
    closeSync(o);
    closeSync(e);
  }
  const code = p.exitCode ?? (p.signalCode ? 128 : -1);
  return { code, out: readFileSync(outPath, "utf8"), err: readFileSync(errPath, "utf8") };
}

/** The last meaningful line of a failed command, for an n/a cell. */
export function why(r: Result, what: string): string {
  const line = (r.err || r.out).trim().split("\n").filter(Boolean).pop() ?? "";
  return `${what} exited ${r.code}${line ? `: ${line.slice(0, 200)}` : ""}`;
}

export class Runner {
  constructor(
    readonly rt: RuntimeRun,
    readonly ctx: Ctx,
  ) {}

  private get cmd(): string {
    return this.rt.argv.map(q).join(" ");
  }

  private id(what: string): string {
    return `bench-${this.rt.key}-${what}`;
  }

  private exec(args: string[], timeoutMs?: number): Result {
    return sh(this.ctx.tmp, [...this.rt.argv, ...args], timeoutMs);
  }

  /** delete -f, ignoring "does not exist". */
  remove(id: string): void {
    this.exec(["delete", "-f", id], 30_000);
  }

  /**
   * hyperfine -N of one command line; mean ± sd in ms, and the median.
   * `prepare` is a shell script, run before each timing; its errors (and the
   * runtime's) go to a log that a failure's n/a cell quotes.
   */
  private hyperfine(args: string[], prepare?: string): { mean: Figure; median: Figure } {
    const n = seqNo++;
    const json = `${this.ctx.tmp}/hf-${n}.json`;
    const log = `${this.ctx.tmp}/hf-${n}.log`;
    writeFileSync(log, "");
    const argv = ["hyperfine", "-N", "--style", "none", "--warmup", String(this.ctx.warmup), "--runs", String(this.ctx.runs), "--export-json", json];
    if (prepare) {
      const script = `${this.ctx.tmp}/hf-${n}.sh`;
      writeFileSync(script, `exec 2>>${q(log)}\n${prepare}\n`);
      argv.push("--prepare", `sh ${q(script)}`);
    }
    argv.push(args.map(q).join(" "));
    const r = sh(this.ctx.tmp, argv, 900_000);
    if (r.code !== 0 || !existsSync(json)) {
      const detail = readFileSync(log, "utf8").trim().split("\n").filter(Boolean).pop();
      const na = { na: `${why(r, "hyperfine")}${detail ? ` (${detail.slice(0, 200)})` : ""}` };
      return { mean: na, median: na };
    }
    const s = parseHyperfine(readFileSync(json, "utf8"));
    return { mean: { value: s.mean, sd: s.stddev }, median: { value: s.median } };
  }

  /** `run` /bin/true: probed twice (the second proves run deleted its container), then timed. */
  run(): { mean: Figure; median: Figure } {
    const id = this.id("run");
    this.remove(id);
    for (let i = 0; i < 2; i++) {
      const r = this.exec(["run", "-b", this.ctx.bundle, id]);
      if (r.code !== 0) {
        this.remove(id);
        const na = { na: why(r, "run") };
        return { mean: na, median: na };
      }
    }
    return this.hyperfine([...this.rt.argv, "run", "-b", this.ctx.bundle, id]);
  }

  /** Shell lines that (re)create container id from the bundle; stderr kept for the n/a cell. */
  private createLine(id: string, bundle = this.ctx.bundle): string {
    return `${this.cmd} delete -f ${q(id)} >/dev/null 2>&1\n${this.cmd} create -b ${q(bundle)} ${q(id)} </dev/null >/dev/null || { echo "create failed" >&2; exit 1; }`;
  }

  /** Shell lines that start id and wait (bounded) until its state says stopped. */
  private startStoppedLine(id: string): string {
    return `${this.cmd} start ${q(id)} >/dev/null || { echo "start failed" >&2; exit 1; }
i=0
until ${this.cmd} state ${q(id)} 2>/dev/null | grep -q stopped; do
  i=$((i+1))
  if [ $i -gt 2000 ]; then echo "not stopped after 2000 polls: $(${this.cmd} state ${q(id)} 2>&1 | grep status)" >&2; exit 1; fi
done`;
  }

  /** create, start and delete, each timed with the others in --prepare. */
  lifecycle(): { create: Figure; start: Figure; delete: Figure } {
    const id = this.id("life");
    const probe = sh(this.ctx.tmp, ["sh", "-c", `${this.createLine(id)}\n${this.startStoppedLine(id)}\n${this.cmd} delete ${q(id)}`]);
    if (probe.code !== 0) {
      this.remove(id);
      const na = { na: why(probe, "create/start/stopped/delete") };
      return { create: na, start: na, delete: na };
    }
    const create = this.hyperfine([...this.rt.argv, "create", "-b", this.ctx.bundle, id], `${this.cmd} delete -f ${q(id)} >/dev/null 2>&1; true`).mean;
    const start = this.hyperfine([...this.rt.argv, "start", id], this.createLine(id)).mean;
    const del = this.hyperfine([...this.rt.argv, "delete", id], `${this.createLine(id)}\n${this.startStoppedLine(id)}`).mean;
    this.remove(id);
    return { create, start, delete: del };
  }

  /** `state` of a created container. */
  state(): Figure {
    const id = this.id("state");
    const r = sh(this.ctx.tmp, ["sh", "-c", this.createLine(id)]);
    if (r.code !== 0) return { na: why(r, "create") };
    const f = this.hyperfine([...this.rt.argv, "state", id]).mean;
    this.remove(id);
    return f;
  }

  /** `--version`: the executable's start-up. */
  version(): Figure {
    return this.hyperfine([this.rt.argv[0]!, "--version"]).mean;
  }

  /** exec /bin/true into a running `sleep` container. */
  execTrue(): Figure {
    const id = this.id("exec");
    const r = sh(this.ctx.tmp, ["sh", "-c", `${this.createLine(id, this.ctx.execBundle)}\n${this.cmd} start ${q(id)} || exit 1\n${this.cmd} exec ${q(id)} /bin/true`]);
    let f: Figure;
    if (r.code !== 0) f = { na: why(r, "create/start/exec") };
    else f = this.hyperfine([...this.rt.argv, "exec", id, "/bin/true"]).mean;
    this.exec(["kill", id, "KILL"], 10_000);
    this.remove(id);
    return f;
  }

  /** ctx.seq `run`s one after another: CPU (user+sys) of everything under a subreaper, and wall. */
  sequential(): { cpu: Figure; wall: Figure } {
    const n = this.ctx.seq;
    const errs = `${this.ctx.tmp}/seq-${this.rt.key}.err`;
    const script = `${this.ctx.tmp}/seq-${this.rt.key}.sh`;
    writeFileSync(errs, "");
    writeFileSync(script, `i=0\nwhile [ $i -lt ${n} ]; do\n  i=$((i+1))\n  ${this.cmd} run -b ${q(this.ctx.bundle)} ${q(this.id("seq"))}-$i </dev/null >/dev/null 2>>${q(errs)} || { echo "container $i failed" >&2; exit 1; }\ndone\n`);
    const timeFile = `${this.ctx.tmp}/seq-${this.rt.key}.time`;
    // A subreaper (prctl PR_SET_CHILD_SUBREAPER = 36, syscall 157), kept across
    // exec: an orphan that a runtime double-forks is reaped, and counted, here.
    const r = sh(this.ctx.tmp, ["/usr/bin/time", "-f", "%e %U %S", "-o", timeFile, "perl", "-e", 'syscall(157, 36, 1) == 0 or die "prctl: $!"; exec @ARGV or die "exec: $!"', "sh", script], 600_000);
    if (r.code !== 0) {
      const last = readFileSync(errs, "utf8").trim().split("\n").pop();
      const na = { na: `${why(r, "loop")}${last ? ` (${last.slice(0, 200)})` : ""}` };
      return { cpu: na, wall: na };
    }
    const t = parseTime(readFileSync(timeFile, "utf8"));
    return { cpu: { value: t.user + t.sys, note: `user ${t.user.toFixed(2)} + sys ${t.sys.toFixed(2)}` }, wall: { value: t.wall } };
  }

  /** ctx.par `run`s started together: the wall time until the last exits (median of 3 rounds). */
  parallel(): Figure {
    const n = this.ctx.par;
    const fails = `${this.ctx.tmp}/par-${this.rt.key}.fail`;
    const script = `${this.ctx.tmp}/par-${this.rt.key}.sh`;
    writeFileSync(script, `i=0\nwhile [ $i -lt ${n} ]; do\n  i=$((i+1))\n  ( ${this.cmd} run -b ${q(this.ctx.bundle)} ${q(this.id("par"))}-$i </dev/null >/dev/null 2>>${q(fails)} || echo "container $i failed" >>${q(fails)} ) &\ndone\nwait\n`);
    const walls: number[] = [];
    for (let round = 0; round < 3; round++) {
      writeFileSync(fails, "");
      const t0 = performance.now();
      const r = sh(this.ctx.tmp, ["sh", script], 600_000);
      const wall = (performance.now() - t0) / 1000;
      const failed = readFileSync(fails, "utf8").trim();
      if (r.code !== 0 || failed) {
        for (let i = 1; i <= n; i++) this.remove(`${this.id("par")}-${i}`);
        return { na: `round ${round + 1}: ${failed.split("\n").filter((l) => l.startsWith("container")).length} of ${n} failed: ${failed.split("\n")[0]?.slice(0, 200)}` };
      }
      walls.push(wall);
    }
    return { value: median(walls), note: `rounds ${walls.map((w) => w.toFixed(3)).join(", ")} s` };
  }

  /**
   * create under /usr/bin/time (peak RSS), then the waiting process's VmRSS
   * and Pss, median of 3; the first round's /proc/PID/maps is returned for the
   * "no executable copy" check.
   */
  memory(): { maxrss: Figure; rss: Figure; pss: Figure; maps?: string; fds?: string[] } {
    const id = this.id("mem");
    const maxrss: number[] = [];
    const rss: number[] = [];
    const pss: number[] = [];
    let maps: string | undefined;
    let fds: string[] | undefined;
    for (let round = 0; round < 3; round++) {
      this.remove(id);
      const timeFile = `${this.ctx.tmp}/mem-${this.rt.key}.time`;
      const r = sh(this.ctx.tmp, ["/usr/bin/time", "-f", "%M", "-o", timeFile, ...this.rt.argv, "create", "-b", this.ctx.bundle, id]);
      if (r.code !== 0) {
        this.remove(id);
        const na = { na: why(r, "create") };
        return { maxrss: na, rss: na, pss: na };
      }
      maxrss.push(Number(readFileSync(timeFile, "utf8").trim().split("\n").pop()));
      const st = this.exec(["state", id]);
      const pid = st.code === 0 ? (JSON.parse(st.out) as { pid?: number }).pid : undefined;
      if (!pid) {
        this.remove(id);
        const na = { na: why(st, "state (no pid)") };
        return { maxrss: { value: median(maxrss) }, rss: na, pss: na };
      }
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rss.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]));
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      pss.push(Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1]));
      if (round === 0) {
        maps = readFileSync(`/proc/${pid}/maps`, "utf8");
        const ls = sh(this.ctx.tmp, ["ls", "-l", `/proc/${pid}/fd`]);
        fds = ls.out.split("\n").filter((l) => l.includes("->")).map((l) => l.slice(l.lastIndexOf(" ", l.indexOf(" ->") - 1) + 1));
      }
      this.remove(id);
    }
    return { maxrss: { value: median(maxrss) }, rss: { value: median(rss) }, pss: { value: median(pss) }, maps, fds };
  }

  /** The smallest of `limits` (bytes) under which `run` of /bin/true exits 0. */
  memoryLimit(limits: number[]): Figure {
    if (this.ctx.noMemory) return { na: this.ctx.noMemory };
    const marks: string[] = [];
    let smallest = Number.NaN;
    let lastErr = "";
    for (const limit of limits) {
      const dir = `${this.ctx.tmp}/mem-${limit}`;
      if (!existsSync(`${dir}/config.json`)) {
        const c = structuredClone(this.ctx.config);
        c.root.path = this.ctx.rootfs;
        c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit } };
        sh(this.ctx.tmp, ["mkdir", "-p", dir]);
        writeFileSync(`${dir}/config.json`, JSON.stringify(c, null, 1));
      }
      const id = this.id(`lim${limit}`);
      this.remove(id);
      const r = this.exec(["run", "-b", dir, id], 60_000);
      this.remove(id);
      const ok = r.code === 0;
      marks.push(`${ok ? "✓" : "✗"}${limit >= 1 << 20 ? `${limit >> 20}M` : `${limit >> 10}k`}`);
      if (ok && Number.isNaN(smallest)) smallest = limit;
      if (!ok) lastErr = why(r, "run");
    }
    if (Number.isNaN(smallest)) return { value: Number.NaN, note: `fails at every limit tried (${marks.join(" ")}; ${lastErr})` };
    return { value: smallest, note: marks.join(" ") };
  }
}
