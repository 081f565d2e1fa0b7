/** AppArmor/SELinux: the refusal with the host's modules injected, and the ops compile emits when they are applied. */
import { describe, expect, test } from "bun:test";
import { refuseLsm } from "../../src/container/unsupported";
import { compile, type CompileInput } from "../../src/plan/compile";
import { compileExec } from "../../src/plan/exec";
import { withMountLabel } from "../../src/plan/lsm";
import { Op } from "../../src/plan/program";

const PROFILE = "bunc-test";
const LABEL = "system_u:system_r:container_t:s0:c1,c2";
const MOUNT_LABEL = "system_u:object_r:container_file_t:s0:c1,c2";

describe("refuseLsm with the host's modules injected", () => {
  const spec = { process: { args: ["sh"], cwd: "/", apparmorProfile: PROFILE, selinuxLabel: LABEL }, linux: { mountLabel: MOUNT_LABEL } } as any;
  test("a host with both modules: applied, not refused", () => {
    expect(() => refuseLsm(spec, { apparmor: () => true, selinux: () => true })).not.toThrow();
  });
  test("a missing module is named with the setting", () => {
    expect(() => refuseLsm(spec, { apparmor: () => false, selinux: () => true })).toThrow(`process.apparmorProfile "${PROFILE}": apparmor is not enabled on this host`);
    expect(() => refuseLsm(spec, { apparmor: () => true, selinux: () => false })).toThrow(`process.selinuxLabel "${LABEL}": selinux is not enabled on this host`);
    expect(() => refuseLsm({ linux: { mountLabel: MOUNT_LABEL } } as any, { apparmor: () => true, selinux: () => false })).toThrow("linux.mountLabel");
    expect(() => refuseLsm({ process: { args: ["sh"], cwd: "/" } } as any, { apparmor: () => false, selinux: () => false })).not.toThrow();
  });
});

describe("compile with AppArmor and SELinux settings", () => {
  const spec = (edit: (s: any) => void = () => {}) => {
    const s: any = {
      ociVersion: "1.0.2",
      process: { args: ["sh"], cwd: "/", noNewPrivileges: true, user: { uid: 1000, gid: 1000 }, apparmorProfile: PROFILE, selinuxLabel: LABEL },
      root: { path: "rootfs" },
      mounts: [
        { destination: "/proc", type: "proc", source: "proc" },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=65536k"] },
        { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "gid=5"] },
        { destination: "/dev/mqueue", type: "mqueue", source: "mqueue" },
        { destination: "/tmp", type: "tmpfs", source: "tmpfs" },
        { destination: "/mnt", type: "bind", source: "/b", options: ["rbind"] },
      ],
      linux: { namespaces: [{ type: "mount" }, { type: "ipc" }], mountLabel: MOUNT_LABEL },
    };
    edit(s);
    return s;
  };
  const input = (s: any, more: Partial<CompileInput> = {}): CompileInput => ({
    spec: s, rootfs: "/b/rootfs", bundle: "/b", joined: new Map(), preserveFds: 0, noPivot: false, cgroupBinds: [],
    isDirectory: () => true, home: "/root", id: "c", noNewKeyring: false, ...more,
  });

  test("exec-time attributes: after pivot_root, before the user switch and seccomp; the keyring label right before the keyring", () => {
    const seccomp = { bpf: new Uint8Array(16), flags: 0, listener: false };
    const ops = compile(input(spec((s) => (s.process.noNewPrivileges = false)), { seccomp })).ops;
    const c = ops.map((o) => o.code);
    const lsm = ops.filter((o) => o.code === Op.LSM_ATTR);
    expect(lsm.map((o) => o.s)).toEqual([
      ["attr/keycreate", undefined, LABEL],
      ["attr/apparmor/exec", "attr/exec", `exec ${PROFILE}`],
      ["attr/exec", undefined, LABEL],
    ]);
    expect(c.indexOf(Op.LSM_ATTR)).toBe(c.indexOf(Op.KEYRING) - 1);
    const aa = ops.indexOf(lsm[1]!);
    expect(aa).toBeGreaterThan(c.indexOf(Op.PIVOT_ROOT));
    expect(ops.indexOf(lsm[2]!)).toBeLessThan(c.indexOf(Op.SECCOMP));
    expect(ops.indexOf(lsm[2]!)).toBeLessThan(c.indexOf(Op.SETRESUID));
    expect(lsm[1]!.what).toContain("/proc/thread-self/attr/apparmor/exec");
  });

  test("--no-new-keyring: no keyring label", () => {
    const lsm = compile(input(spec(), { noNewKeyring: true })).ops.filter((o) => o.code === Op.LSM_ATTR);
    expect(lsm.map((o) => o.s![0])).toEqual(["attr/apparmor/exec", "attr/exec"]);
  });

  test("none of it without the settings", () => {
    const ops = compile(input(spec((s) => {
      delete s.process.apparmorProfile;
      delete s.process.selinuxLabel;
      delete s.linux.mountLabel;
    }))).ops;
    expect(ops.filter((o) => o.code === Op.LSM_ATTR)).toEqual([]);
    expect(ops.filter((o) => o.code === Op.MOUNT).map((o) => o.s![3] ?? "")).not.toContain("context=");
  });

  test("mountLabel: context=\"…\" on tmpfs and devpts, not on proc, mqueue, binds", () => {
    const ops = compile(input(spec())).ops;
    const data = (dest: string) => ops.find((o) => (o.code === Op.MOUNT || o.code === Op.BIND) && o.s![1] === dest)!.s;
    expect(data("/dev")![3]).toBe(`mode=755,size=65536k,context="${MOUNT_LABEL}"`);
    expect(data("/tmp")![3]).toBe(`context="${MOUNT_LABEL}"`);
    expect(data("/dev/pts")![3]).toBe(`newinstance,gid=5,context="${MOUNT_LABEL}"`);
    expect(data("/proc")![3]).toBeUndefined();
    expect(data("/dev/mqueue")![3]).toBeUndefined();
    expect(data("/mnt")).toEqual(["/b", "/mnt"]);
    expect(() => withMountLabel("", "tmpfs", 'a"b')).toThrow("cannot hold");
  });

  test("mountLabel: mqueue's root gets the security.selinux xattr, right after its mount; masked directories' tmpfs the context=", () => {
    const ops = compile(input(spec((s) => (s.linux.maskedPaths = ["/proc/acpi"])))).ops;
    const at = ops.findIndex((o) => o.code === Op.MOUNT && o.s![1] === "/dev/mqueue");
    expect(ops[at + 1]!.code).toBe(Op.SETXATTR);
    expect(ops[at + 1]!.s).toEqual([undefined, "/dev/mqueue", "security.selinux", MOUNT_LABEL]);
    expect(ops.find((o) => o.code === Op.MASK)!.s).toEqual([undefined, "/proc/acpi", `size=0,context="${MOUNT_LABEL}"`]);
    const plain = compile(input(spec((s) => {
      delete s.linux.mountLabel;
      s.linux.maskedPaths = ["/proc/acpi"];
    }))).ops;
    expect(plain.filter((o) => o.code === Op.SETXATTR)).toEqual([]);
    expect(plain.find((o) => o.code === Op.MASK)!.s).toEqual([undefined, "/proc/acpi", "size=0"]);
  });

  test("exec: the process's profile and label, before the user switch", () => {
    const plan = compileExec({ process: spec().process, pidfd: 9, namespaces: ["mount", "pid"], preserveFds: 0, home: "/root", privileged: true });
    const c = plan.ops.map((o) => o.code);
    expect(plan.ops.filter((o) => o.code === Op.LSM_ATTR).map((o) => o.s![2])).toEqual([`exec ${PROFILE}`, LABEL]);
    expect(c.indexOf(Op.LSM_ATTR)).toBeGreaterThan(c.indexOf(Op.SETNS));
    expect(c.lastIndexOf(Op.LSM_ATTR)).toBeLessThan(c.indexOf(Op.SETRESUID));
  });
});
