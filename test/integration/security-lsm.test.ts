/**
 * AppArmor and SELinux settings on a host without those modules (this
 * one): refused with one line naming the module, nothing left behind —
 * never a container that runs unconfined. Compared with runc 1.1.5.
 * Then the apply path on this same host: bunc run from source with its LSM
 * detection answered "yes" by a preload, so the executor really writes the
 * attr files, which this kernel (no LSM) refuses — naming the file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { apparmorEnabled, selinuxEnabled } from "../../src/linux/lsm";
import { integrationSkipReason, REPO, RUNC, Sandbox, sh } from "../harness";
import { show, startLong, stopLong } from "./container-helpers";

const skip = integrationSkipReason() ?? (apparmorEnabled() || selinuxEnabled() ? "this host has AppArmor or SELinux: the refusals are for hosts without" : undefined);
if (skip) console.log(`skip security-lsm: ${skip}`);
const sb = new Sandbox();
afterAll(() => sb.cleanup());

const cases: [string, (c: Record<string, any>) => void, string][] = [
  ["process.apparmorProfile", (c) => (c.process.apparmorProfile = "docker-default"), 'process.apparmorProfile "docker-default": apparmor is not enabled on this host'],
  ["process.selinuxLabel", (c) => (c.process.selinuxLabel = "system_u:system_r:container_t:s0"), "process.selinuxLabel \"system_u:system_r:container_t:s0\": selinux is not enabled on this host"],
  ["linux.mountLabel", (c) => (c.linux.mountLabel = "system_u:object_r:container_file_t:s0"), "linux.mountLabel \"system_u:object_r:container_file_t:s0\": selinux is not enabled on this host"],
];

describe.skipIf(!!skip)("LSM settings on a host without the module", () => {
  for (const [name, edit, message] of cases) {
    test(`${name}: one clear line, exit 1, no state left`, () => {
      const id = sb.id();
      const r = sb.bunc(["run", "-b", sb.bundle(["true"], edit), id]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toBe(`bunc: ${message}\n`);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    });
  }

  test.skipIf(!RUNC)("runc 1.1.5, the same configs: what it does (printed), never a quiet success claimed by bunc", () => {
    for (const [name, edit] of cases) {
      const r = sb.runc(["run", "-b", sb.bundle(["true"], edit), sb.id()]);
      console.log(`runc 1.1.5 with ${name}: exit ${r.code} ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
    }
  });

  test("exec --apparmor, --process-label and a process.json with a profile are refused the same way", () => {
    const c = startLong(sb);
    try {
      const aa = sb.bunc(["exec", "--apparmor", "docker-default", c.id, "true"]);
      expect(aa.stderr).toBe("bunc: --apparmor: apparmor is not enabled on this host\n");
      expect(aa.code).not.toBe(0);
      const label = sb.bunc(["exec", "--process-label", "system_u:system_r:container_t:s0", c.id, "true"]);
      expect(label.stderr).toBe("bunc: --process-label: selinux is not enabled on this host\n");
      const file = `${sb.dir}/process-aa.json`;
      writeFileSync(file, JSON.stringify({ args: ["true"], cwd: "/", user: { uid: 0, gid: 0 }, apparmorProfile: "docker-default" }));
      const p = sb.bunc(["exec", "-p", file, c.id]);
      expect(p.stderr).toBe('bunc: process.apparmorProfile "docker-default": apparmor is not enabled on this host\n');
      expect(p.code).not.toBe(0);
    } finally {
      stopLong(sb, c);
    }
  });

  describe("the apply path, with bunc told the modules are there (run from source with a preload)", () => {
    const preload = path.join(sb.dir, "lsm-present.ts");
    writeFileSync(preload, [
      "Bun.plugin({ name: 'lsm-present', setup(b) {",
      "  b.onLoad({ filter: /src\\/linux\\/lsm\\.ts$/ }, () => ({ loader: 'ts', contents: 'export const apparmorEnabled = () => true; export const selinuxEnabled = () => true;' }));",
      "} });",
    ].join("\n"));
    const fromSource = (bundle: string, id: string, flags: string[] = []) =>
      sh([process.execPath, "--preload", preload, path.join(REPO, "src/cli/main.ts"), "--root", sb.root, "run", ...flags, "-b", bundle, id]);

    for (const [name, edit, message] of [
      ["process.apparmorProfile", (c: any) => (c.process.apparmorProfile = "bunc-test"), 'apply apparmor profile "bunc-test" (write /proc/thread-self/attr/apparmor/exec): invalid argument'],
      ["process.selinuxLabel (the keyring's label first)", (c: any) => (c.process.selinuxLabel = "system_u:system_r:container_t:s0"), 'set selinux keyring label "system_u:system_r:container_t:s0" (write /proc/thread-self/attr/keycreate): invalid argument'],
      ["linux.mountLabel (context= on the /dev tmpfs)", (c: any) => (c.linux.mountLabel = "system_u:object_r:container_file_t:s0"), 'mount "tmpfs" to "/dev": invalid argument'],
      // Only proc and mqueue mounted: mqueue takes its label as an xattr of its root (no context=).
      ["linux.mountLabel on mqueue (security.selinux xattr)", (c: any) => {
        c.linux.mountLabel = "system_u:object_r:container_file_t:s0";
        c.mounts = c.mounts.filter((m: any) => m.type === "proc" || m.type === "mqueue");
      }, 'set the selinux label of /dev/mqueue: operation not supported'],
      // With no mounts to label, the masked directory's tmpfs is the first to carry context=.
      ["linux.mountLabel on a masked directory's tmpfs", (c: any) => {
        c.linux.mountLabel = "system_u:object_r:container_file_t:s0";
        c.mounts = c.mounts.filter((m: any) => m.type === "proc");
        c.linux.maskedPaths = ["/proc/sys"];
      }, "mask /proc/sys: invalid argument"],
    ] as const) {
      test(`${name}: the executor's write reaches this kernel, which has no LSM to take it`, () => {
        const id = sb.id();
        const r = fromSource(sb.bundle(["true"], edit), id);
        expect(r.stderr, show(r)).toBe(`bunc: unable to start container process: ${message}\n`);
        expect(r.code).toBe(1);
        expect(existsSync(`${sb.root}/${id}`)).toBe(false);
      });
    }

    test("CVE-2025-52881 class: a mount over /proc/thread-self/attr/exec does not take the label (EXDEV), the host file is untouched", () => {
      const hostFile = path.join(sb.dir, "host-attr");
      writeFileSync(hostFile, "host\n");
      const bundle = sb.bundle(["true"], (c) => {
        c.process.selinuxLabel = "system_u:system_r:container_t:s0";
        c.mounts.push({ destination: "/proc/thread-self/attr/exec", type: "bind", source: hostFile, options: ["bind"] });
      });
      const r = fromSource(bundle, sb.id(), ["--no-new-keyring"]);
      expect(r.stderr, show(r)).toBe('bunc: unable to start container process: set selinux label "system_u:system_r:container_t:s0" (write /proc/thread-self/attr/exec): invalid cross-device link\n');
      expect(readFileSync(hostFile, "utf8")).toBe("host\n");
    });
  });
});
