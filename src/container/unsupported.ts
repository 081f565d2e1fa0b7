/**
 * Config features this build does not implement yet. Each is refused with
 * its name, never ignored: a container that silently runs without its
 * seccomp profile or memory limit is worse than one that does not start.
 */
import { BuncError } from "../errors";
import { apparmorEnabled, selinuxEnabled } from "../linux/lsm";
import type { Spec } from "../spec/config";

/**
 * AppArmor and SELinux settings: on a host without the module they cannot
 * be honoured, and running the container unconfined instead would be a
 * silent downgrade, so the error names the missing module. On a host with
 * it, this build does not apply them yet and says so.
 */
export function refuseLsm(spec: Pick<Spec, "process" | "linux">): void {
  const checks: [string | undefined, string, string, () => boolean][] = [
    [spec.process?.apparmorProfile, "process.apparmorProfile", "apparmor", apparmorEnabled],
    [spec.process?.selinuxLabel, "process.selinuxLabel", "selinux", selinuxEnabled],
    [spec.linux?.mountLabel, "linux.mountLabel", "selinux", selinuxEnabled],
  ];
  for (const [value, name, lsm, enabled] of checks) {
    if (!value) continue;
    if (!enabled()) throw new BuncError(`${name} ${JSON.stringify(value)}: ${lsm} is not enabled on this host`, { code: "ENOTSUP" });
    throw new BuncError(`${name} is not supported by this build of bunc yet`, { code: "ENOTSUP" });
  }
}

/** Throw naming the first config feature that this build cannot apply. */
export function refuseUnsupported(spec: Spec): void {
  const l = spec.linux;
  refuseLsm(spec);
  const checks: [unknown, string][] = [
    [l?.memoryPolicy, "linux.memoryPolicy"],
    [l?.intelRdt, "linux.intelRdt"],
    [l?.netDevices && Object.keys(l.netDevices).length, "linux.netDevices"],
  ];
  for (const [present, name] of checks)
    if (present) throw new BuncError(`${name} is not supported by this build of bunc yet`, { code: "ENOTSUP" });
}
