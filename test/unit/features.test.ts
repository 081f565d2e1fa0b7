/** src/spec/features.ts: the runtime-spec features document of this build. */
import { describe, expect, test } from "bun:test";
import { features } from "../../src/spec/features";
import { COMMIT, SPEC_VERSION, VERSION } from "../../src/version";

describe("features", () => {
  const f = features() as any;

  test("namespaces: the eight types", () => {
    expect(f.linux.namespaces).toEqual(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]);
  });

  test("mountOptions include bind, rbind, ro and rro", () => {
    for (const o of ["bind", "rbind", "ro", "rro"]) expect(f.mountOptions).toContain(o);
  });

  test("mountOptions do not claim refused options", () => {
    for (const o of ["copy-symlink", "noatime-whatever"]) expect(f.mountOptions).not.toContain(o);
  });

  test("idmapped mounts and recursive atime options are claimed: they are implemented", () => {
    for (const o of ["idmap", "ridmap", "ratime", "rnoatime", "tmpcopyup"]) expect(f.mountOptions).toContain(o);
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
  });

  test("seccomp is enabled with libseccomp's actions and operators; apparmor, selinux can be applied", () => {
    expect(f.linux.seccomp.enabled).toBe(true);
    expect(f.linux.seccomp.actions).toContain("SCMP_ACT_NOTIFY");
    expect(f.linux.seccomp.operators).toHaveLength(7);
    expect(f.linux.seccomp.archs).toContain("SCMP_ARCH_X86_64");
    expect(f.linux.seccomp.archs).not.toContain("SCMP_ARCH_LOONGARCH64");
    expect(f.linux.apparmor.enabled).toBe(true);
    expect(f.linux.selinux.enabled).toBe(true);
  });

  test("OCI versions, the six hooks, all capabilities", () => {
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.ociVersionMax).toBe(SPEC_VERSION);
    expect(SPEC_VERSION).toBe("1.3.0");
    expect(f.hooks).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    expect(f.linux.capabilities).toHaveLength(41);
    expect(f.linux.capabilities[0]).toBe("CAP_CHOWN");
  });

  test("cgroup v1 and v2 (both managers), rdma, the systemd driver; no systemd --user one", () => {
    expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: false, rdma: true });
  });

  test("acl and noacl are mount options", () => {
    for (const o of ["acl", "noacl"]) expect(f.mountOptions).toContain(o);
  });

  test("annotations: libseccomp's version under runc's key, bunc's version, commit and checkpoint under its own, sorted", () => {
    expect(Object.keys(f.annotations)).toEqual([
      "io.github.seccomp.libseccomp.version", "org.opencontainers.bunc.checkpoint.enabled", "org.opencontainers.bunc.commit", "org.opencontainers.bunc.version",
    ]);
    expect(f.annotations["io.github.seccomp.libseccomp.version"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(f.annotations["org.opencontainers.bunc.version"]).toBe(VERSION);
    expect(f.annotations["org.opencontainers.bunc.commit"]).toBe(COMMIT);
    // From source, not built by scripts/build.ts: no commit was baked in.
    expect(COMMIT).toBe("unknown");
  });

  test("is plain JSON", () => {
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
  });
});
