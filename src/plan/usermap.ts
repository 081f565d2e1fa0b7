/**
 * Who writes a new user namespace's id maps, and how (user_namespaces(7),
 * "Defining user and group ID mappings"). A writer privileged in the
 * parent user namespace (root, not --rootless) writes /proc/PID/uid_map
 * and gid_map itself. An unprivileged one may write only one line mapping
 * its own effective id, and for gid_map only after "deny" went to
 * /proc/PID/setgroups (Linux 3.19, CVE-2014-8989); anything else goes
 * through the setuid helpers newuidmap(1)/newgidmap(1), which check
 * /etc/subuid and /etc/subgid. This is runc's rule (libcontainer
 * requiresRootOrMappingTool, nsexec.c update_uidmap/update_gidmap).
 */
import type { IdMapping } from "./idmap";
import { mapLines } from "./idmap";

/** The bunc process that writes the maps. */
export interface MapWriter {
  euid: number;
  egid: number;
  /** Effective uid 0 (runc's rule: RootlessEUID is euid != 0; --rootless is about cgroups only). */
  privileged: boolean;
}

/** One step of the parent: write a /proc/PID file, or run a helper with PID as its first argument. */
export type MapStep = { file: string; content: string } | { tool: "newuidmap" | "newgidmap"; args: string[] };

/** A single line mapping the writer's own id: what an unprivileged writer may set itself. */
function selfMapping(maps: readonly IdMapping[], id: number): boolean {
  return maps.length === 1 && maps[0]!.size === 1 && maps[0]!.hostID === id;
}

/** newuidmap/newgidmap arguments after the pid: "inside outside count" triples. */
function toolArgs(maps: readonly IdMapping[]): string[] {
  return maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)]);
}

/** The steps that set a new user namespace's maps, uid_map first (as runc). */
export function idMapSteps(uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[], w: MapWriter): MapStep[] {
  if (w.privileged) return [{ file: "uid_map", content: mapLines(uidMappings) }, { file: "gid_map", content: mapLines(gidMappings) }];
  const steps: MapStep[] = [];
  steps.push(selfMapping(uidMappings, w.euid) ? { file: "uid_map", content: mapLines(uidMappings) } : { tool: "newuidmap", args: toolArgs(uidMappings) });
  if (selfMapping(gidMappings, w.egid)) {
    // An unprivileged gid_map write needs setgroups denied first; the container cannot call setgroups(2) then.
    steps.push({ file: "setgroups", content: "deny" });
    steps.push({ file: "gid_map", content: mapLines(gidMappings) });
  } else {
    steps.push({ tool: "newgidmap", args: toolArgs(gidMappings) });
  }
  return steps;
}
