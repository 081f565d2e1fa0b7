/** Real seccomp profiles for the tests, made into linux.seccomp as their engines make them. */
import { readFileSync } from "node:fs";

/** podman's default profile (containers-common, Docker's format). */
export const PODMAN_PROFILE = "/usr/share/containers/seccomp.json";

/** podman's (and Docker's) default capabilities, for which its profile is made. */
export const PODMAN_DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"];

/** podman's default profile made into linux.seccomp for x86_64 and these capabilities, as podman does. */
export function podmanProfile(caps: string[]): Record<string, any> {
  return engineProfile(PODMAN_PROFILE, caps);
}

/** Docker 20.10's profiles, from Debian's golang-github-docker-docker-dev (scripts/install-deps.sh takes the two files out of it). */
export const DOCKER_PROFILE_DIR = "/usr/local/share/bunc-test/docker-seccomp";
/** Docker 20.10's default profile (profiles/seccomp/default.json). */
export const DOCKER_PROFILE = `${DOCKER_PROFILE_DIR}/default.json`;
/** Docker's default profile in its old format (2016: one name a rule, a plain architectures list), kept by Docker as a test fixture. */
export const DOCKER_OLD_PROFILE = `${DOCKER_PROFILE_DIR}/fixtures/default-old-format.json`;
/** Docker's (and containerd's) default capabilities, for which their profiles are made. */
export const DOCKER_DEFAULT_CAPS = [...PODMAN_DEFAULT_CAPS, "CAP_MKNOD", "CAP_NET_RAW", "CAP_AUDIT_WRITE"];

const KERNEL = (() => {
  const [major, minor] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map((n) => parseInt(n, 10));
  return [major!, minor!] as const;
})();

/**
 * A profile in Docker's format (podman's, Docker's, old or new) made into linux.seccomp for
 * x86_64 and these capabilities, as the engines do (moby profiles/seccomp setupSeccomp): a rule
 * counts where its includes (caps, arches, minKernel) hold and its excludes do not.
 */
export function engineProfile(file: string, caps: string[]): Record<string, any> {
  const p = JSON.parse(readFileSync(file, "utf8"));
  const arch = p.archMap?.find((a: any) => a.architecture === "SCMP_ARCH_X86_64");
  const atLeast = (v: string) => {
    const [major, minor] = v.split(".").map((n) => parseInt(n, 10));
    return KERNEL[0] > major! || (KERNEL[0] === major && KERNEL[1] >= minor!);
  };
  const fits = (r: any) => {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes("amd64")) return false;
    if (exc.arches?.includes("amd64")) return false;
    if (inc.caps?.length && !inc.caps.every((c: string) => caps.includes(c))) return false;
    if (exc.caps?.some((c: string) => caps.includes(c))) return false;
    if (inc.minKernel && !atLeast(inc.minKernel)) return false;
    return true;
  };
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures: arch ? [arch.architecture, ...arch.subArchitectures] : p.architectures,
    syscalls: p.syscalls.filter(fits).map((r: any) => ({ names: r.names ?? [r.name], action: r.action, args: r.args ?? [], ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}) })),
  };
}

let containerd: { profile: Record<string, any>; caps: string[] } | undefined;
/**
 * containerd's default profile as containerd itself makes it (`ctr containers create --seccomp`,
 * its contrib/seccomp code), with the capabilities of its default spec: from a private containerd
 * started for it (test/clients/setup.ts), once per test process. undefined without containerd.
 */
export async function containerdProfile(): Promise<{ profile: Record<string, any>; caps: string[] } | undefined> {
  if (containerd) return containerd;
  if (!Bun.which("containerd") || !Bun.which("ctr")) return undefined;
  const { Containerd } = await import("../clients/setup");
  const { makeBundle } = await import("../../scripts/rootfs");
  const daemon = new Containerd();
  try {
    daemon.start();
    makeBundle(`${daemon.dir}/bundle`, ["true"]);
    const made = daemon.ctr(["containers", "create", "--seccomp", "--rootfs", `${daemon.dir}/bundle/rootfs`, "bunc-seccomp-capture", "true"]);
    if (made.code !== 0) throw new Error(`ctr containers create --seccomp: ${made.stderr}`);
    const spec = JSON.parse(daemon.ctr(["containers", "info", "bunc-seccomp-capture"]).stdout).Spec;
    daemon.ctr(["containers", "delete", "bunc-seccomp-capture"]);
    return (containerd = { profile: spec.linux.seccomp, caps: spec.process.capabilities.bounding });
  } finally {
    daemon.stop();
  }
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
