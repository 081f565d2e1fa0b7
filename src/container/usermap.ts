/**
 * The parent's part of a new user namespace and other /proc/PID settings:
 * the steps src/plan/usermap.ts and compile() decided, run while the child
 * waits in its SETUP.
 */
import { writeFileSync } from "node:fs";
import { BuncError } from "../errors";
import type { MapStep } from "../plan/usermap";

/** The parent's part of the child's SETUP: /proc/PID files (id maps first) or newuidmap/newgidmap runs, as the plan lists them. */
export function writeProcFiles(pid: number, steps: readonly MapStep[]): void {
  for (const step of steps) {
    if ("tool" in step) {
      runMapTool(step.tool, pid, step.args);
      continue;
    }
    try {
      writeFileSync(`/proc/${pid}/${step.file}`, step.content);
    } catch (e) {
      throw new BuncError(`write /proc/${pid}/${step.file}: ${(e as Error).message}`, { code: "EINVAL", cause: e });
    }
  }
}

/** newuidmap/newgidmap PID inside outside count …, found in PATH (as runc's --uidmap-path default). */
function runMapTool(tool: string, pid: number, args: readonly string[]): void {
  const path = Bun.which(tool);
  if (!path) throw new BuncError(`${tool} is needed to map these ids without root and is not in PATH: install the uidmap package`, { code: "ENOENT" });
  const r = Bun.spawnSync([path, String(pid), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  // newuidmap(1) allows only the ranges subuid(5)/subgid(5) grant the caller.
  const file = tool === "newuidmap" ? "/etc/subuid" : "/etc/subgid";
  if (r.exitCode !== 0)
    throw new BuncError(`${tool} ${pid} ${args.join(" ")}: ${r.stderr.toString().trim() || `exit status ${r.exitCode}`} (${file} must grant this user every host id the config maps)`, { code: "EPERM" });
}
