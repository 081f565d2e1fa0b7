/**
 * AppArmor and SELinux in the setup program (as runc's libcontainer/apparmor
 * and go-selinux): the executor writes our own /proc/thread-self/attr files,
 * which take effect at execve; mounts get the SELinux mount label as a
 * context= option. Whether the host has the module is decided before this
 * (src/container/unsupported.ts refuseLsm): here a value means "apply it".
 */
import { BuncError } from "../errors";
import type { Process } from "../spec/config";
import type { Add } from "./process";
import { Op } from "./program";

/** The exec-time attributes of process: AppArmor's "exec PROFILE" (aa_change_onexec), SELinux's exec label (setexeccon). */
export function compileLsmExec(proc: Pick<Process, "apparmorProfile" | "selinuxLabel">, add: Add): void {
  if (proc.apparmorProfile) {
    add(Op.LSM_ATTR, `apply apparmor profile ${JSON.stringify(proc.apparmorProfile)} (write /proc/thread-self/attr/apparmor/exec)`, {
      s: ["attr/apparmor/exec", "attr/exec", `exec ${proc.apparmorProfile}`],
    });
  }
  if (proc.selinuxLabel) {
    add(Op.LSM_ATTR, `set selinux label ${JSON.stringify(proc.selinuxLabel)} (write /proc/thread-self/attr/exec)`, {
      s: ["attr/exec", undefined, proc.selinuxLabel],
    });
  }
}

/** The SELinux label of the session keyring created next (setkeycreatecon), as runc before joining it. */
export function compileKeyLabel(proc: Pick<Process, "selinuxLabel"> | undefined, add: Add): void {
  if (!proc?.selinuxLabel) return;
  add(Op.LSM_ATTR, `set selinux keyring label ${JSON.stringify(proc.selinuxLabel)} (write /proc/thread-self/attr/keycreate)`, {
    s: ["attr/keycreate", undefined, proc.selinuxLabel],
  });
}

/**
 * Filesystems that take the label at mount time (runc labels every mount
 * but proc, sysfs, mqueue, cgroup and binds, with go-selinux's
 * FormatMountLabel: context="LABEL" after the data).
 */
const UNLABELLED = new Set(["proc", "sysfs", "mqueue", "cgroup", "cgroup2", "bind"]);

export function withMountLabel(data: string, type: string, label: string | undefined): string {
  if (!label || UNLABELLED.has(type)) return data;
  // Quoted because MCS categories hold commas (s0:c1,c2); a quote would end the option.
  if (label.includes('"')) throw new BuncError(`config.json: linux.mountLabel ${JSON.stringify(label)}: a label cannot hold '"'`, { code: "CONFIG" });
  const context = `context="${label}"`;
  return data ? `${data},${context}` : context;
}
