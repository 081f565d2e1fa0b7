/**
 * Cgroups of a rootless container, as runc's rootless mode (fs.go Apply and
 * Set, fs2.go Apply): without an explicit linux.cgroupsPath, a hierarchy
 * where the user can neither make nor join the container's cgroup (EACCES,
 * EPERM, EROFS: no delegation, as on this cgroup v1 host) is left out and
 * the process stays in the caller's cgroup there. A limit that would need
 * a hierarchy left out is an error naming it; device rules are not applied
 * (they need CAP_SYS_ADMIN in v1 and CAP_BPF in v2). A cgroup delegated to
 * the user (a directory it owns) is used as usual.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { CgroupManager } from "./manager";
import type { CgroupBind } from "../plan/compile";
import { NoCgroup } from "./none";
import { V1Manager } from "./v1";
import { V2Manager } from "./v2";
import type { LinuxResources } from "./resources";
import { v1Writes, v2Writes } from "./writes";

/**
 * Why the user cannot make or join dir, or undefined: the nearest directory
 * that exists must be writable (mkdir), and the join file of the cgroup.
 * cgroup2 moves a process only with write access to cgroup.procs of the
 * common ancestor of its cgroup and the target (cgroup-v2.rst "Delegation
 * Containment"): own is the caller's cgroup there.
 */
export function unreachable(dir: string, joinFile: string, own?: string): string | undefined {
  let d = dir;
  while (d !== "/" && !existsSync(d)) d = path.dirname(d);
  const targets = [d === dir ? path.join(dir, joinFile) : d];
  if (own !== undefined) {
    const a = own.split("/");
    const b = dir.split("/");
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    targets.push(path.join(a.slice(0, i).join("/") || "/", "cgroup.procs"));
  }
  for (const target of targets) {
    try {
      accessSync(target, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") return `${target}: ${code}`;
      // anything else is for create to report
    }
  }
  return undefined;
}

/**
 * The manager a rootless create uses: `cgroup` with the hierarchies it cannot
 * reach left out (a NoCgroup when none is left). With a cgroupsPath given
 * nothing is left out: the user asked for that cgroup, and its permission
 * error is the answer (runc: "rootless + cgrouppath + no permission fails").
 */
export function rootlessCgroup(cgroup: CgroupManager, cgroupsPath: string | undefined, resources: LinuxResources | undefined): { cgroup: CgroupManager; binds: CgroupBind[] } {
  // The container's cgroup mount shows where its process stays: bunc's own cgroup (as runc's
  // mountCgroupV1 binds the cgroups its init is in).
  const own = cgroup.version === 2 ? new V2Manager("") : new V1Manager("");
  const out: [string, string][] = [];
  for (const [mountpoint, dir] of Object.entries(cgroup.paths)) {
    const unified = cgroup.version === 2 || existsSync(path.join(mountpoint, "cgroup.controllers"));
    // A hybrid host's cgroup2 hierarchy has no controllers to limit (hugetlb at most, checked below):
    // joining it is best effort even for a cgroupsPath the user delegated in the v1 ones.
    if (cgroupsPath && !(unified && cgroup.version === 1)) continue;
    const why = unreachable(dir, unified ? "cgroup.procs" : "tasks", unified ? own.paths[mountpoint] : undefined);
    if (why) out.push([mountpoint, why]);
  }
  if (out.length === 0) return { cgroup, binds: cgroup.binds() };
  if (cgroup.version === 2) {
    const w = v2Writes(resources, { devices: false })[0];
    if (w) throw limitError(w.controller, w.file, out[0]![1]);
    return { cgroup: new NoCgroup(2, own.binds()), binds: own.binds() };
  }
  const left = new Map(out);
  const has = (controller: string) => Object.keys(cgroup.paths).some((mp) => !left.has(mp) && path.basename(mp).split(",").includes(controller));
  for (const w of v1Writes(resources, { devices: false })) {
    if (w.controller === "devices" || has(w.controller)) continue;
    // hugetlb may live in a hybrid host's cgroup2 hierarchy instead (see V1Manager.hugetlbInUnified).
    const unified = Object.keys(cgroup.paths).find((mp) => existsSync(path.join(mp, "cgroup.controllers")));
    if (w.controller === "hugetlb" && unified && !left.has(unified)) continue;
    const mp = Object.keys(cgroup.paths).find((m) => path.basename(m).split(",").includes(w.controller));
    throw limitError(w.controller, w.file, mp ? left.get(mp)! : `no ${w.controller} hierarchy`);
  }
  const names = new Set([...left.keys()].map((mp) => path.basename(mp)));
  const ownBinds = own.binds().filter((b) => names.has(b.name));
  for (const mp of left.keys()) delete cgroup.paths[mp];
  const binds = [...cgroup.binds(), ...ownBinds];
  return { cgroup: Object.keys(cgroup.paths).length === 0 ? new NoCgroup(1, binds) : cgroup, binds };
}

function limitError(controller: string, file: string, why: string): BuncError {
  return new BuncError(
    `cannot set ${controller} limit (${file}): container could not join or create cgroup (${why}); a rootless container gets limits only in a cgroup delegated to its user: remove them from linux.resources or delegate one`,
    { code: "CGROUP" },
  );
}
