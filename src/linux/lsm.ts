/**
 * Whether the host runs the Linux security modules a config may ask for.
 * AppArmor: /sys/module/apparmor/parameters/enabled reads "Y" and
 * /sys/kernel/security/apparmor exists (as runc's
 * apparmor.IsEnabled). SELinux: selinuxfs is mounted, /sys/fs/selinux/enforce
 * exists (as libselinux's is_selinux_enabled).
 */
import { existsSync, readFileSync } from "node:fs";

export function apparmorEnabled(): boolean {
  // As runc: securityfs shows the module too, not only the boot parameter.
  if (!existsSync("/sys/kernel/security/apparmor")) return false;
  try {
    return readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y");
  } catch {
    return false;
  }
}

export function selinuxEnabled(): boolean {
  return existsSync("/sys/fs/selinux/enforce");
}
