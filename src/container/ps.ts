/** ps: the processes in a container's cgroup, as host pids or as the host's `ps` table filtered to them (runc ps). */
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { namespacePids } from "./rootless";
import { deriveStatus } from "./status";
import type { Store } from "./store";

/** Host pids of every process in the container's cgroup. */
export function containerPids(store: Store, id: string): number[] {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (!record || status === "creating") throw new BuncError(`cannot list processes of container ${id}: it is ${status}`, { code: "STATE" });
  if (Object.keys(record.cgroupPaths).length === 0 && record.ownPidNamespace) return namespacePids(record.pid);
  return cgroupManagerFromPaths(record.cgroupPaths).pids();
}

/**
 * Run the host's `ps` with psArgs (default -ef) and keep its header and the
 * lines whose PID column is one of pids, as runc does.
 */
export function psTable(pids: readonly number[], psArgs: readonly string[]): string {
  const args = psArgs.length ? [...psArgs] : ["-ef"];
  let result;
  try {
    result = Bun.spawnSync(["ps", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  } catch (e) {
    throw new BuncError(`ps: ${(e as Error).message}`, { code: "ENOENT", cause: e });
  }
  if (result.exitCode !== 0) throw new BuncError(`ps ${args.join(" ")}: ${result.stderr.toString().trim() || `exit status ${result.exitCode}`}`, { code: "EINVAL" });
  const lines = result.stdout.toString().split("\n");
  const header = lines[0] ?? "";
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw new BuncError("couldn't find PID field in ps output", { code: "EINVAL" });
  const want = new Set(pids);
  const rows = lines.slice(1).filter((line) => {
    const pid = Number(line.trim().split(/\s+/)[column]);
    return line.trim() !== "" && want.has(pid);
  });
  return [header, ...rows].join("\n") + "\n";
}
