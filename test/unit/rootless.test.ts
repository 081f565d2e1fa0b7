/** Rootless mode's decisions (src/container/rootless.ts, src/plan/rootless.ts, setgroups in src/plan/process.ts), as runc makes them. */
import { describe, expect, test } from "bun:test";
import { defaultRoot, inUserNamespace, rootlessCgroups, validateRootlessEUID } from "../../src/container/rootless";
import { userNamespaceMounts } from "../../src/plan/rootless";
import { compileProcess } from "../../src/plan/process";
import { Op } from "../../src/plan/program";
import type { Spec } from "../../src/spec/config";

describe("inUserNamespace: uid_map other than the full identity (runc's RunningInUserNS)", () => {
  test("the initial namespace", () => expect(inUserNamespace("         0          0 4294967295\n")).toBe(false));
  test("a mapped root", () => expect(inUserNamespace("         0       1001          1\n")).toBe(true));
  test("identity over part of the range", () => expect(inUserNamespace("0 0 65536\n")).toBe(true));
  test("two lines", () => expect(inUserNamespace("0 0 1\n1 100000 65536\n")).toBe(true));
});

describe("--rootless", () => {
  const never = () => {
    throw new Error("uid_map read without need");
  };
  test("true and false are taken as given", () => {
    expect(rootlessCgroups("true", 0, never)).toBe(true);
    expect(rootlessCgroups("false", 1000, never)).toBe(false);
  });
  test("auto: a non-root euid is rootless, without reading uid_map", () => expect(rootlessCgroups("auto", 1000, never)).toBe(true));
  test("auto: root in the initial user namespace is not", () => expect(rootlessCgroups("auto", 0, () => false)).toBe(false));
  test("auto: root in a user namespace is", () => expect(rootlessCgroups("auto", 0, () => true)).toBe(true));
});

describe("default --root (runc's shouldHonorXDGRuntimeDir)", () => {
  const never = () => {
    throw new Error("uid_map read without need");
  };
  test("a user with XDG_RUNTIME_DIR: $XDG_RUNTIME_DIR/bunc", () =>
    expect(defaultRoot({ XDG_RUNTIME_DIR: "/run/user/1000" }, 1000, never)).toEqual({ root: "/run/user/1000/bunc", xdg: true }));
  test("a user without it: /run/bunc", () => expect(defaultRoot({}, 1000, never)).toEqual({ root: "/run/bunc", xdg: false }));
  test("root in the initial namespace ignores XDG_RUNTIME_DIR", () =>
    expect(defaultRoot({ XDG_RUNTIME_DIR: "/run/user/0" }, 0, () => false)).toEqual({ root: "/run/bunc", xdg: false }));
  test("root in a user namespace honours it unless USER is root", () => {
    expect(defaultRoot({ XDG_RUNTIME_DIR: "/run/user/1000", USER: "alice" }, 0, () => true).root).toBe("/run/user/1000/bunc");
    expect(defaultRoot({ XDG_RUNTIME_DIR: "/run/user/1000" }, 0, () => true).root).toBe("/run/user/1000/bunc");
    expect(defaultRoot({ XDG_RUNTIME_DIR: "/run/user/1000", USER: "root" }, 0, () => true).root).toBe("/run/bunc");
  });
});

describe("a non-root bunc's config (runc's validate rootlessEUID)", () => {
  const base = (): Spec =>
    ({
      ociVersion: "1.0.2",
      process: { args: ["true"], cwd: "/" },
      mounts: [{ destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "gid=0"] }],
      linux: { namespaces: [{ type: "user" }, { type: "mount" }], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] },
    }) as Spec;
  test("the rootless spec passes", () => expect(() => validateRootlessEUID(base())).not.toThrow());
  test("no user namespace", () => {
    const s = base();
    s.linux!.namespaces = [{ type: "mount" }];
    expect(() => validateRootlessEUID(s)).toThrow(/^rootless container requires user namespaces/);
  });
  test("no uid or gid mapping", () => {
    const s = base();
    delete s.linux!.uidMappings;
    expect(() => validateRootlessEUID(s)).toThrow(/^rootless containers requires at least one UID mapping/);
    const g = base();
    g.linux!.gidMappings = [];
    expect(() => validateRootlessEUID(g)).toThrow(/^rootless containers requires at least one GID mapping/);
  });
  test("gid=5 unmapped (runc spec's devpts without --rootless)", () => {
    const s = base();
    s.mounts![0]!.options = ["newinstance", "gid=5"];
    expect(() => validateRootlessEUID(s)).toThrow("mounts: /dev/pts: cannot specify gid= mount options for unmapped gid in rootless containers");
  });
});

describe("sysfs in a new user namespace", () => {
  const spec = (namespaces: string[]): Spec =>
    ({
      ociVersion: "1.0.2",
      mounts: [{ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] }],
      linux: { namespaces: namespaces.map((type) => ({ type })) },
    }) as Spec;
  test("without its own network namespace: an rbind of the host's /sys with the same flags, and a warning", () => {
    const warnings: string[] = [];
    expect(userNamespaceMounts(spec(["user", "mount"]), warnings).mounts).toEqual([
      { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] },
    ]);
    expect(warnings).toEqual(["/sys: sysfs cannot be mounted in a user namespace without its own network namespace: bound from the host's /sys (rbind)"]);
  });
  test("with one, or without a user namespace: sysfs as asked", () => {
    const warnings: string[] = [];
    for (const ns of [["user", "mount", "network"], ["mount"]]) expect(userNamespaceMounts(spec(ns), warnings).mounts![0]!.type).toBe("sysfs");
    expect(warnings).toEqual([]);
  });
});

describe("setgroups from a non-root bunc (runc's setupUser)", () => {
  const codes = (rootlessEUID: boolean, additionalGids?: number[], setgroupsDenied = false) => {
    const ops: number[] = [];
    compileProcess({ args: ["true"], cwd: "/", user: { uid: 0, gid: 0, additionalGids } }, { home: "/", preserveFds: 0, rootlessEUID, setgroupsDenied }, (code) => ops.push(code));
    return ops;
  };
  test("root: setgroups; non-root: none", () => {
    expect(codes(false)).toContain(Op.SETGROUPS);
    expect(codes(true)).not.toContain(Op.SETGROUPS);
  });
  test("root in a user namespace whose setgroups is deny: none", () => expect(codes(false, [], true)).not.toContain(Op.SETGROUPS));
  test("non-root with additionalGids: refused", () =>
    expect(() => codes(true, [10])).toThrow("config.json: process.user.additionalGids: cannot set any additional groups in a rootless container"));
});
