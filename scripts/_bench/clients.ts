/**
 * The benchmark through the real clients: a private podman and a private
 * containerd exactly as the client tests set them up (test/clients/setup.ts),
 * each scenario timed for bunc, runc and crun interleaved in one run; then
 * one traced round, with each runtime's path replaced by a logging wrapper
 * (trace-wrapper.c), that lists every runtime call a scenario made.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { Containerd, IMAGE, Podman, sh } from "../../test/clients/setup";
import { interleave, type TimingResult } from "./interleave";

/** One runtime call as the wrapper logged it. */
export interface TraceCall {
  verb: string;
  /** Global flags, then the verb's flags (names; values left out). */
  flags: string;
  wallMs: number;
  cpuMs: number;
  exit: number;
}

export interface ClientResults {
  /** scenario → runtime key → timing (wall of the whole client command series). */
  timings: Record<string, Record<string, TimingResult>>;
  /** scenario → runtime key → the calls, or why there is no trace. */
  traces: Record<string, Record<string, TraceCall[] | { na: string }>>;
  /** What the wrapper itself costs per call (wrapped /bin/true − /bin/true, median ms). */
  wrapperMs?: number;
  rounds: number;
  load: string;
  na?: string;
}

export const SCENARIOS = ["podman run --rm", "podman run -d + exec + stop + rm", "ctr run --rm", "ctr run -d + task exec + task kill + task delete"];

/** Flags that take the next argument as their value (runc's global and verb flags that the clients pass). */
const VALUED = new Set(["--root", "--log", "--log-format", "--criu", "--rootless", "--bundle", "-b", "--pid-file", "--console-socket", "--process", "-p", "--preserve-fds", "--signal", "--cwd", "--env", "-e", "--user", "-u", "--format", "-f", "--work-path", "--image-path", "--parent-path"]);

/** Parse a logged line: wall, user, sys (µs), exit, argv. */
export function parseTraceLine(line: string): TraceCall | undefined {
  const [wall, user, sys, exit, ...argv] = line.split("\t");
  if (argv.length === 0 && wall === undefined) return undefined;
  let verb = "";
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("-")) {
      const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
      flags.push(verb ? name : `${name}`);
      if (!a.includes("=") && VALUED.has(a)) i++;
      continue;
    }
    if (!verb) {
      verb = a;
      flags.push("·");
    } else if (verb === "exec" || verb === "run") break; // the rest is the container's command
  }
  const globals = flags.slice(0, flags.indexOf("·"));
  const own = flags.slice(flags.indexOf("·") + 1);
  return { verb: verb || "(none)", flags: `${globals.join(" ")} · ${own.join(" ")}`.trim(), wallMs: Number(wall) / 1000, cpuMs: (Number(user) + Number(sys)) / 1000, exit: Number(exit) };
}

function ok(r: { code: number; stdout: string; stderr: string }, what: string, want = 0): string | undefined {
  return r.code === want ? undefined : `${what} exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").pop()?.slice(0, 200) ?? ""}`;
}

/** The four scenarios for one runtime, as functions returning why they failed (undefined: fine). */
function scenarios(podman: Podman, daemon: Containerd, name: string, binary: string, n: { i: number }): Record<string, () => string | undefined> {
  const sleeper = ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"];
  return {
    "podman run --rm": () => ok(podman.run(name, ["run", "--rm", IMAGE, "true"]), "podman run --rm"),
    "podman run -d + exec + stop + rm": () => {
      const id = `bench-${name}-${n.i++}`;
      try {
        return ok(podman.run(name, ["run", "-d", "--name", id, IMAGE, ...sleeper]), "podman run -d") ?? ok(podman.run(name, ["exec", id, "true"]), "podman exec") ?? ok(podman.run(name, ["stop", "-t", "10", id]), "podman stop") ?? ok(podman.run(name, ["rm", id]), "podman rm");
      } finally {
        podman.run(name, ["rm", "-f", "-t", "0", id]);
      }
    },
    "ctr run --rm": () => ok(daemon.ctr(["run", "--runc-binary", binary, "--rm", IMAGE, `bench-${name}-${n.i++}`, "true"]), "ctr run --rm"),
    "ctr run -d + task exec + task kill + task delete": () => {
      const id = `bench-${name}-${n.i++}`;
      try {
        const e = ok(daemon.ctr(["run", "--runc-binary", binary, "-d", IMAGE, id, ...sleeper]), "ctr run -d") ?? ok(daemon.ctr(["task", "exec", "--exec-id", "e1", id, "true"]), "ctr task exec") ?? ok(daemon.ctr(["task", "kill", id]), "ctr task kill");
        if (e) return e;
        // task kill does not wait: delete fails while the task still runs; the retries are the wait.
        let del = daemon.ctr(["task", "delete", id]);
        for (let i = 0; del.code !== 0 && /running|not stopped|precondition/i.test(del.stderr) && i < 500; i++) del = daemon.ctr(["task", "delete", id]);
        return ok(del, "ctr task delete") ?? ok(daemon.ctr(["containers", "delete", id]), "ctr containers delete");
      } finally {
        daemon.ctr(["task", "delete", "-f", id]);
        daemon.ctr(["containers", "delete", id]);
      }
    },
  };
}

/** Compile the trace wrapper for one real runtime binary and log file. */
function wrapper(dir: string, name: string, real: string, log: string): string {
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, name);
  const src = path.join(import.meta.dir, "trace-wrapper.c");
  const r = sh(["cc", "-O2", "-Wall", `-DREAL=${JSON.stringify(real)}`, `-DLOG=${JSON.stringify(log)}`, "-o", out, src]);
  if (r.code !== 0) throw new Error(`cc trace-wrapper.c: ${r.stderr}`);
  return out;
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** Time and trace the client scenarios for the given runtimes (key → binary). */
export function measureClients(tmp: string, runtimes: Record<string, string>, rounds: number, warmup: number, log: (m: string) => void): ClientResults {
  const result: ClientResults = { timings: {}, traces: {}, rounds, load: loadavg() };
  const podman = new Podman(runtimes);
  const daemon = new Containerd();
  try {
    daemon.start();
    podman.importImage();
    const archive = path.join(daemon.dir, "busybox.tar");
    podman.saveImage(archive);
    const imp = daemon.ctr(["images", "import", archive], { timeoutMs: 120_000 });
    if (imp.code !== 0) throw new Error(`ctr images import: ${imp.stderr}`);
    const n = { i: 0 };
    const per = Object.fromEntries(Object.entries(runtimes).map(([k, bin]) => [k, scenarios(podman, daemon, k, bin, n)]));
    for (const sc of SCENARIOS) {
      log(`clients: ${sc}: ${Object.keys(runtimes).join(", ")} interleaved, ${rounds} rounds`);
      result.timings[sc] = interleave(Object.keys(runtimes).map((k) => ({ key: k, steps: per[k]![sc]! })), rounds, warmup);
    }
    // The traced round: every runtime's path is a wrapper that logs each call.
    const logs: Record<string, string> = {};
    const wrapped: Record<string, string> = {};
    for (const [k, bin] of Object.entries(runtimes)) {
      logs[k] = path.join(tmp, "trace", `${k}.log`);
      wrapped[k] = wrapper(path.join(tmp, "trace", k), k, bin, logs[k]!);
    }
    podman.setRuntimes(wrapped);
    const traced = Object.fromEntries(Object.entries(wrapped).map(([k, bin]) => [k, scenarios(podman, daemon, k, bin, n)]));
    for (const sc of SCENARIOS) {
      result.traces[sc] = {};
      for (const k of Object.keys(runtimes)) {
        writeFileSync(logs[k]!, "");
        const err = traced[k]![sc]!();
        const calls = readFileSync(logs[k]!, "utf8").split("\n").filter(Boolean).map(parseTraceLine).filter((c): c is TraceCall => c !== undefined);
        result.traces[sc]![k] = err ? { na: err } : calls;
      }
    }
    podman.setRuntimes(runtimes);
    // What the wrapper adds to each call: the same wrapper around /bin/true, interleaved with /bin/true.
    const trueLog = path.join(tmp, "trace", "true.log");
    const wrappedTrue = wrapper(path.join(tmp, "trace", "true"), "true", "/bin/true", trueLog);
    const w = interleave([{ key: "plain", steps: [["/bin/true"]] }, { key: "wrapped", steps: [[wrappedTrue]] }], 100, 5);
    if ("wall" in w.plain! && "wall" in w.wrapped!) result.wrapperMs = w.wrapped.wall - w.plain.wall;
  } catch (e) {
    result.na = e instanceof Error ? e.message.split("\n")[0] : String(e);
  } finally {
    try {
      podman.cleanup();
    } finally {
      daemon.stop();
    }
  }
  result.load = `${result.load} at start, ${loadavg()} at end`;
  return result;
}
