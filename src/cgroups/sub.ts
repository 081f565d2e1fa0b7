/**
 * exec --cgroup: run the new process in an existing sub-cgroup of the
 * container's cgroup (runc 1.1's exec.go getSubCgroupPaths and
 * addIntoCgroupV1). "path" alone applies to every hierarchy;
 * "ctrl[,ctrl…]:path" to the hierarchies of those controllers only, the
 * others keeping the container's own cgroup.
 */
import { existsSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";

/** The container's cgroup paths (by hierarchy mount point) with the --cgroup arguments applied. */
export function subCgroupPaths(paths: Readonly<Record<string, string>>, args: readonly string[], exists: (dir: string) => boolean = existsSync): Record<string, string> {
  const out = { ...paths };
  if (args.length === 0) return out;
  const bySub = new Map<string, string>(); // controller ("" = every hierarchy) → sub-path
  for (const arg of args) {
    const colon = arg.indexOf(":");
    if (colon < 0) {
      if (args.length !== 1) throw new BuncError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`, { code: "EINVAL" });
      bySub.set("", arg);
      continue;
    }
    for (const ctrl of arg.slice(0, colon).split(",")) {
      if (!ctrl) throw new BuncError(`invalid --cgroup argument: ${arg} (empty <controller> prefix)`, { code: "EINVAL" });
      if (bySub.has(ctrl)) throw new BuncError(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`, { code: "EINVAL" });
      bySub.set(ctrl, arg.slice(colon + 1));
    }
  }
  for (const [ctrl, sub] of bySub) {
    const mountpoints = Object.keys(paths).filter((mp) => ctrl === "" || path.basename(mp).split(",").includes(ctrl));
    if (mountpoints.length === 0) throw new BuncError(`--cgroup: unknown controller ${ctrl}: the container has no cgroup for it`, { code: "EINVAL" });
    for (const mp of mountpoints) {
      const base = paths[mp]!;
      const dir = path.join(base, sub);
      // A sub-cgroup, never a way out of the container's own; runc's words, which its tests match.
      if (dir !== base && !dir.startsWith(base + "/")) throw new BuncError(`--cgroup: ${sub} is not a sub cgroup path`, { code: "EINVAL" });
      if (!exists(dir)) throw new BuncError(`--cgroup: error adding pid of the new process to cgroups: sub-cgroup ${sub} does not exist: ${dir}/cgroup.procs: no such file or directory`, { code: "ENOENT" });
      out[mp] = dir;
    }
  }
  return out;
}
