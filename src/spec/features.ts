/**
 * The runtime-spec features document (features.md) for this build. Every
 * list is derived from the tables the code itself uses, so it cannot claim
 * what the code does not do.
 */
import { CAPABILITIES } from "../plan/capabilities";
import { knownMountOptions } from "../plan/mount-options";
import { NAMESPACE_FLAG } from "../plan/namespaces";
import { VERSION } from "../version";

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.3.0",
    hooks: [],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAG).sort(),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "org.opencontainers.bunc.version": VERSION },
  };
}
