/**
 * The runtime-spec features document (features.md) for this build. Every
 * list is derived from the tables the code itself uses, so it cannot claim
 * what the code does not do.
 */
import { CAPABILITIES } from "../plan/capabilities";
import { knownMountOptions } from "../plan/mount-options";
import { NAMESPACE_FLAG } from "../plan/namespaces";
import { ACTIONS, OPERATORS } from "../plan/seccomp";
import { VERSION } from "../version";

/** Architectures libseccomp 2.5 (Debian 12's) resolves by name. */
const SECCOMP_ARCHES = [
  "X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32",
  "PPC", "PPC64", "PPC64LE", "RISCV64", "S390", "S390X", "PARISC", "PARISC64",
].map((a) => `SCMP_ARCH_${a}`);

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.3.0",
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAG).sort(),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(ACTIONS),
        operators: Object.keys(OPERATORS),
        archs: SECCOMP_ARCHES,
        knownFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      },
      // As runc: the runtime can apply them; whether this host runs the module is another matter.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { "org.opencontainers.bunc.version": VERSION },
  };
}
