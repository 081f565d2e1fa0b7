/**
 * The runtime-spec features document (features.md) for this build. Every
 * list is derived from the tables the code itself uses, so it cannot claim
 * what the code does not do.
 */
import { CAPABILITIES } from "../plan/capabilities";
import { knownMountOptions } from "../plan/mount-options";
import { NAMESPACE_FLAG } from "../plan/namespaces";
import { ACTIONS, OPERATORS } from "../plan/seccomp";
import { libseccompVersion } from "../linux/seccomp";
import { COMMIT, SPEC_VERSION, VERSION } from "../version";

/** Architectures libseccomp 2.5 (Debian 12's) resolves by name. */
const SECCOMP_ARCHES = [
  "X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32",
  "PPC", "PPC64", "PPC64LE", "RISCV64", "S390", "S390X", "PARISC", "PARISC64",
].map((a) => `SCMP_ARCH_${a}`);

/**
 * runc's keys where bunc has the same fact (libseccomp's version under its
 * own project's name), bunc's own under org.opencontainers.bunc where runc's
 * name its binary (org.opencontainers.runc.version, .commit, .checkpoint.enabled).
 */
export function features(): Record<string, unknown> {
  // Loaded here only: seccomp is usable exactly when libseccomp loads.
  const libseccomp = libseccompVersion();
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: SPEC_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAG).sort(),
      capabilities: [...CAPABILITIES],
      // The v1 and v2 managers of src/cgroups/ (rdma limits on both) and the systemd driver (src/cgroups/systemd/, not systemd --user).
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
      seccomp: libseccomp
        ? {
            enabled: true,
            actions: Object.keys(ACTIONS),
            operators: Object.keys(OPERATORS),
            archs: SECCOMP_ARCHES,
            knownFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
          }
        : { enabled: false },
      // As runc: the runtime can apply them; whether this host runs the module is another matter.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    // Sorted, as runc's (a Go map in JSON).
    annotations: {
      ...(libseccomp ? { "io.github.seccomp.libseccomp.version": libseccomp } : {}),
      "org.opencontainers.bunc.checkpoint.enabled": "true",
      "org.opencontainers.bunc.commit": COMMIT,
      "org.opencontainers.bunc.version": VERSION,
    },
  };
}
