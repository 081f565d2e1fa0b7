/**
 * Mounts a container in a new user namespace cannot make, replaced by what
 * it can. sysfs is mounted only by a process with CAP_SYS_ADMIN in the user
 * namespace that owns the current network namespace (sysfs_get_tree: the
 * kernel checks net_ns->user_ns), so a container with a user namespace of
 * its own and the host's network namespace gets EPERM: /sys is bound from
 * the host instead (recursively, with the config's flags), as crun does and
 * as `runc spec --rootless` writes it. Only for a rootless bunc: a root
 * one refuses such a mount as runc does.
 */
import type { Spec } from "../spec/config";

/** The spec with sysfs mounts turned into rbinds of /sys where sysfs cannot be mounted; warnings say so. */
export function userNamespaceMounts(spec: Spec, warnings: string[]): Spec {
  const namespaces = spec.linux?.namespaces ?? [];
  const newUserns = namespaces.some((ns) => ns.type === "user" && !ns.path);
  const newNetns = namespaces.some((ns) => ns.type === "network" && !ns.path);
  if (!newUserns || newNetns || !(spec.mounts ?? []).some((m) => m.type === "sysfs")) return spec;
  const mounts = spec.mounts!.map((m) => {
    if (m.type !== "sysfs") return m;
    warnings.push(`${m.destination}: sysfs cannot be mounted in a user namespace without its own network namespace: bound from the host's /sys (rbind)`);
    return { ...m, type: "bind", source: "/sys", options: ["rbind", ...(m.options ?? []).filter((o) => o !== "bind" && o !== "rbind")] };
  });
  return { ...spec, mounts };
}
