/** Real seccomp profiles for the tests, made into linux.seccomp as their engines make them. */
import { readFileSync } from "node:fs";

/** podman's default profile (containers-common, Docker's format). */
export const PODMAN_PROFILE = "/usr/share/containers/seccomp.json";

/** podman's (and Docker's) default capabilities, for which its profile is made. */
export const PODMAN_DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"];

/** podman's default profile made into linux.seccomp for x86_64 and these capabilities, as podman does. */
export function podmanProfile(caps: string[]): Record<string, any> {
  const p = JSON.parse(readFileSync(PODMAN_PROFILE, "utf8"));
  const arch = p.archMap.find((a: any) => a.architecture === "SCMP_ARCH_X86_64");
  const fits = (r: any) => {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes("amd64")) return false;
    if (exc.arches?.includes("amd64")) return false;
    if (inc.caps?.length && !inc.caps.every((c: string) => caps.includes(c))) return false;
    if (exc.caps?.some((c: string) => caps.includes(c))) return false;
    return true;
  };
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: [arch.architecture, ...arch.subArchitectures],
    syscalls: p.syscalls.filter(fits).map((r: any) => ({ names: r.names, action: r.action, args: r.args ?? [], ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}) })),
  };
}

/**
 * Syscalls added to Linux from 5.3 on (x86_64 numbers 434–462: pidfd_open,
 * clone3, close_range, openat2, pidfd_getfd, faccessat2, process_madvise,
 * epoll_pwait2, mount_setattr, landlock_*, …). A profile written before them
 * — Docker's and Kubernetes' defaults of 2019–2020, many hand-made ones —
 * allows none of them: removing them from a current profile gives one.
 */
export const NEWER_THAN_5_2 = [
  "pidfd_open", "clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2", "process_madvise", "epoll_pwait2",
  "mount_setattr", "quotactl_fd", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
  "memfd_secret", "process_mrelease", "futex_waitv", "set_mempolicy_home_node", "cachestat", "fchmodat2",
  "map_shadow_stack", "futex_wake", "futex_wait", "futex_requeue", "statmount", "listmount", "lsm_get_self_attr",
  "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat", "getxattrat", "listxattrat", "removexattrat", "open_tree_attr",
];

/** A profile without the given syscalls (they fall to its default action). */
export function without(profile: Record<string, any>, names: string[]): Record<string, any> {
  const drop = new Set(names);
  return { ...profile, syscalls: profile.syscalls.map((r: any) => ({ ...r, names: r.names.filter((n: string) => !drop.has(n)) })).filter((r: any) => r.names.length > 0) };
}
