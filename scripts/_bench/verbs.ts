/**
 * Each verb's fixed cost, bunc beside runc (and crun where it can run
 * containers), with the floor (a compiled hello-world, floor.ts) in the same
 * interleaved run (interleave.ts), so every ratio is taken under the same load.
 * Containers a verb acts on are made in its untimed `prepare`. A runtime that
 * cannot run containers in this setting (crun on the hybrid host) is timed
 * for `--version` only.
 */
import { readFileSync } from "node:fs";
import { interleave, spawnQuiet, type TimedCommand, type TimingResult } from "./interleave";

export const VERBS = ["--version", "state", "list", "kill", "delete", "start", "create", "run", "exec"] as const;

export interface VerbResults {
  /** verb → runtime key (or "floor") → timing. */
  timings: Record<string, Record<string, TimingResult>>;
  rounds: number;
  load: string;
}

function quiet(argv: string[]): { code: number; err: string } {
  return spawnQuiet(argv);
}

function status(rt: string[], id: string): string | undefined {
  const p = spawnQuiet([...rt, "state", id], "pipe");
  return p.code === 0 ? (JSON.parse(p.out) as { status: string }).status : undefined;
}

/** The verbs for the given runtimes (key → argv with its --root), bundles as the setting's. */
export function measureVerbs(floor: string, runtimes: Record<string, string[]>, bundle: string, execBundle: string, rounds: number, warmup: number, versionOnly: string[] = []): VerbResults {
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const timings: VerbResults["timings"] = {};
  const cleanup: (() => void)[] = [];
  try {
    for (const verb of VERBS) {
      const cmds: TimedCommand[] = [];
      if (verb === "--version") cmds.push({ key: "floor", steps: [[floor]] });
      for (const [key, rt] of Object.entries(runtimes)) {
        if (verb !== "--version" && versionOnly.includes(key)) continue;
        const id = `bench-verb-${key}-${verb.replace(/-/g, "")}`;
        const fresh = (b = bundle) => () => {
          quiet([...rt, "delete", "-f", id]);
          const c = quiet([...rt, "create", "-b", b, id]);
          return c.code === 0 ? undefined : `create exited ${c.code}: ${c.err}`;
        };
        cleanup.push(() => {
          quiet([...rt, "kill", id, "KILL"]);
          quiet([...rt, "delete", "-f", id]);
        });
        switch (verb) {
          case "--version":
            cmds.push({ key, steps: [[rt[0]!, "--version"]] });
            break;
          case "state":
          case "list": {
            // One created container, made once, that state (and list) reads.
            let made: string | undefined | null = null;
            cmds.push({ key, prepare: () => (made === null ? (made = fresh()()) : made), steps: [verb === "state" ? [...rt, "state", id] : [...rt, "list"]] });
            break;
          }
          case "kill":
            cmds.push({ key, prepare: fresh(), steps: [[...rt, "kill", id, "KILL"]] });
            break;
          case "start":
            cmds.push({ key, prepare: fresh(), steps: [[...rt, "start", id]] });
            break;
          case "delete":
            // A stopped container: created, started, waited for.
            cmds.push({
              key,
              prepare: () => {
                const e = fresh()();
                if (e) return e;
                const s = quiet([...rt, "start", id]);
                if (s.code !== 0) return `start exited ${s.code}: ${s.err}`;
                for (let i = 0; i < 2000; i++) if (status(rt, id) === "stopped") return undefined;
                return "not stopped after 2000 polls";
              },
              steps: [[...rt, "delete", id]],
            });
            break;
          case "create":
            cmds.push({ key, prepare: () => (quiet([...rt, "delete", "-f", id]), undefined), steps: [[...rt, "create", "-b", bundle, id]] });
            break;
          case "run":
            cmds.push({ key, steps: [[...rt, "run", "-b", bundle, id]] });
            break;
          case "exec": {
            let made: string | undefined | null = null;
            const prep = () => {
              const e = fresh(execBundle)();
              if (e) return e;
              const s = quiet([...rt, "start", id]);
              return s.code === 0 ? undefined : `start exited ${s.code}: ${s.err}`;
            };
            cmds.push({ key, prepare: () => (made === null ? (made = prep()) : made), steps: [[...rt, "exec", id, "/bin/true"]] });
            break;
          }
        }
      }
      timings[verb] = interleave(cmds, rounds, warmup);
      for (const c of cleanup.splice(0)) c();
    }
  } finally {
    for (const c of cleanup) c();
  }
  const load1 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  return { timings, rounds, load: `${load0} at start, ${load1} at end` };
}
