/**
 * A/B timing in one run: every command of a set is run once per round, the
 * order rotated each round, so load that comes and goes (this machine is
 * shared) falls on all of them alike. Wall time from Bun.nanoseconds() around
 * a spawnSync, CPU (user+sys) from the child's rusage. Each command may have an
 * untimed `prepare` (make the container it acts on) run just before it.
 */
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { median } from "./report";

/**
 * spawnSync with stderr in a file, not a pipe: a created container's waiting
 * process inherits it and would hold a pipe open (and spawnSync waiting) until start.
 */
export function spawnQuiet(argv: string[], stdout: "ignore" | "pipe" = "ignore"): { code: number; out: string; err: string; cpuMs: number } {
  const errPath = `/tmp/bunc-bench-err-${process.pid}`;
  const fd = openSync(errPath, "w+");
  try {
    const p = Bun.spawnSync(argv, { stdio: ["ignore", stdout, fd], timeout: 120_000 });
    const ru = p.resourceUsage;
    return { code: p.exitCode ?? 128, out: stdout === "pipe" ? (p.stdout?.toString() ?? "") : "", err: readFileSync(errPath, "utf8").trim().split("\n").pop() ?? "", cpuMs: ru ? Number(ru.cpuTime.user + ru.cpuTime.system) / 1000 : Number.NaN };
  } finally {
    closeSync(fd);
    rmSync(errPath, { force: true });
  }
}

export interface TimedCommand {
  key: string;
  /** The command, or a series run one after another (a client scenario), timed together. */
  steps: string[][] | (() => string | undefined);
  /** Untimed; returns why it failed, if it did. */
  prepare?: () => string | undefined;
}

export interface Timing {
  /** Median wall time and CPU (user+sys) in ms, the runs taken, and the quartiles of wall. */
  wall: number;
  cpu: number;
  q1: number;
  q3: number;
  runs: number;
}

export type TimingResult = Timing | { na: string };

function runSteps(steps: string[][]): { cpu: number; err?: string } {
  let cpu = 0;
  for (const argv of steps) {
    const p = spawnQuiet(argv);
    cpu += p.cpuMs;
    if (p.code !== 0) return { cpu, err: `${argv.slice(0, 3).join(" ")}… exited ${p.code}: ${p.err.slice(0, 200)}` };
  }
  return { cpu };
}

/** Run the set `rounds` times (after `warmup` untimed rounds); a command that fails once is n/a from then on. */
export function interleave(cmds: TimedCommand[], rounds: number, warmup: number): Record<string, TimingResult> {
  const walls = new Map<string, number[]>(cmds.map((c) => [c.key, []]));
  const cpus = new Map<string, number[]>(cmds.map((c) => [c.key, []]));
  const failed = new Map<string, string>();
  for (let round = -warmup; round < rounds; round++) {
    const offset = ((round % cmds.length) + cmds.length) % cmds.length;
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[(i + offset) % cmds.length]!;
      if (failed.has(c.key)) continue;
      const prep = c.prepare?.();
      if (prep) {
        failed.set(c.key, `prepare: ${prep}`);
        continue;
      }
      const t0 = Bun.nanoseconds();
      let r: { cpu: number; err?: string };
      if (typeof c.steps === "function") {
        const err = c.steps();
        r = { cpu: Number.NaN, err };
      } else r = runSteps(c.steps);
      const wall = (Bun.nanoseconds() - t0) / 1e6;
      if (r.err) failed.set(c.key, r.err);
      else if (round >= 0) {
        walls.get(c.key)!.push(wall);
        cpus.get(c.key)!.push(r.cpu);
      }
    }
  }
  const out: Record<string, TimingResult> = {};
  for (const c of cmds) {
    const w = walls.get(c.key)!;
    if (failed.has(c.key)) out[c.key] = { na: failed.get(c.key)! };
    else if (w.length === 0) out[c.key] = { na: "no runs" };
    else {
      const s = [...w].sort((a, b) => a - b);
      out[c.key] = { wall: median(w), cpu: median(cpus.get(c.key)!), q1: s[Math.floor((s.length - 1) / 4)]!, q3: s[Math.ceil(((s.length - 1) * 3) / 4)]!, runs: w.length };
    }
  }
  return out;
}
