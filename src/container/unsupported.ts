/**
 * Config features this build does not implement yet. Each is refused with
 * its name, never ignored: a container that silently runs without its
 * seccomp profile or memory limit is worse than one that does not start.
 */
import { BuncError } from "../errors";
import { apparmorEnabled, selinuxEnabled } from "../linux/lsm";
import type { Spec } from "../spec/config";

/** Whether the host runs each module (src/linux/lsm.ts; injected by tests). */
export interface LsmHost {
  apparmor(): boolean;
  selinux(): boolean;
}

/**
 * AppArmor and SELinux settings: on a host without the module they cannot
 * be honoured, and running the container unconfined instead would be a
 * silent downgrade, so the error names the missing module. On a host with
 * it they are applied (src/plan/lsm.ts).
 */
export function refuseLsm(spec: Pick<Spec, "process" | "linux">, host: LsmHost = { apparmor: apparmorEnabled, selinux: selinuxEnabled }): void {
  const checks: [string | undefined, string, "apparmor" | "selinux"][] = [
    [spec.process?.apparmorProfile, "process.apparmorProfile", "apparmor"],
    [spec.process?.selinuxLabel, "process.selinuxLabel", "selinux"],
    [spec.linux?.mountLabel, "linux.mountLabel", "selinux"],
  ];
  for (const [value, name, lsm] of checks)
    if (value && !host[lsm]()) throw new BuncError(`${name} ${JSON.stringify(value)}: ${lsm} is not enabled on this host`, { code: "ENOTSUP" });
}

/** Throw naming the first config feature that this build cannot apply. */
export function refuseUnsupported(spec: Spec): void {
  const l = spec.linux;
  refuseLsm(spec);
  const checks: [unknown, string][] = [
    [l?.intelRdt, "linux.intelRdt"],
    [l?.netDevices && Object.keys(l.netDevices).length, "linux.netDevices"],
  ];
  for (const [present, name] of checks)
    if (present) throw new BuncError(`${name} is not supported by this build of bunc yet`, { code: "ENOTSUP" });
}
