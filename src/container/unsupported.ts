/**
 * Config features this build does not implement yet. Each is refused with
 * its name, never ignored: a container that silently runs without its
 * seccomp profile or memory limit is worse than one that does not start.
 */
import { BuncError } from "../errors";
import type { Spec } from "../spec/config";

/** Throw naming the first config feature that this build cannot apply. */
export function refuseUnsupported(spec: Spec): void {
  const p = spec.process;
  const l = spec.linux;
  const checks: [unknown, string][] = [
    [p?.apparmorProfile, "process.apparmorProfile"],
    [p?.selinuxLabel, "process.selinuxLabel"],
    [l?.mountLabel, "linux.mountLabel"],
    [l?.memoryPolicy, "linux.memoryPolicy"],
    [l?.intelRdt, "linux.intelRdt"],
    [l?.netDevices && Object.keys(l.netDevices).length, "linux.netDevices"],
  ];
  for (const [present, name] of checks)
    if (present) throw new BuncError(`${name} is not supported by this build of bunc yet`, { code: "ENOTSUP" });
}
