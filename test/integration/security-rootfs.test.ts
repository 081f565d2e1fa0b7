/**
 * A rootfs prepared by an attacker must not redirect what the runtime does
 * to the host: symlinked mount destinations, a /proc or /dev/null that is a
 * symlink or the wrong file type (CVE-2021-30465, CVE-2025-31133,
 * CVE-2025-52565 classes), and sysctl writes that would leave the
 * container's procfs (CVE-2025-52881 class). Each test fails on a runtime
 * that follows the attacker's link.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { integrationSkipReason, RUNC, Sandbox } from "../harness";
import { show } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.log(`skip security-rootfs: ${skip}`);
const sb = new Sandbox();
afterAll(() => sb.cleanup());

/** Mount points of the host's mount namespace. */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "");
}

/** A config without the /dev tmpfs, so the rootfs's own /dev is what the runtime meets. */
const rootfsDev = (c: Record<string, any>) => {
  c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== "/dev" && !m.destination.startsWith("/dev/"));
};

describe.skipIf(!!skip)("an attacker's rootfs", () => {
  for (const runtime of ["bunc", "runc"] as const) {
    test.skipIf(runtime === "runc" && !RUNC)(`${runtime}: /dev/null symlinked to a host file: the host file keeps its mode and content`, () => {
      const victim = `${sb.dir}/victim-${runtime}`;
      writeFileSync(victim, "secret\n");
      chmodSync(victim, 0o600);
      const bundle = sb.bundle(["cat", "/proc/self/status"], rootfsDev);
      mkdirSync(`${bundle}/rootfs/dev`, { recursive: true });
      rmSync(`${bundle}/rootfs/dev/null`, { force: true });
      symlinkSync(victim, `${bundle}/rootfs/dev/null`);
      const r = runtime === "bunc" ? sb.bunc(["run", "-b", bundle, sb.id()]) : sb.runc(["run", "-b", bundle, sb.id()]);
      expect(statSync(victim).mode & 0o7777, show(r)).toBe(0o600);
      expect(readFileSync(victim, "utf8")).toBe("secret\n");
    });
  }

  test("/dev/null is a regular file: a mask is refused, never bound from it", () => {
    const bundle = sb.bundle(["true"], rootfsDev);
    mkdirSync(`${bundle}/rootfs/dev`, { recursive: true });
    rmSync(`${bundle}/rootfs/dev/null`, { force: true });
    writeFileSync(`${bundle}/rootfs/dev/null`, "not a device\n");
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain("mask");
  });

  test("/proc a symlink out of the rootfs: proc is not mounted through it", () => {
    const outside = `${sb.dir}/outside-proc`;
    mkdirSync(outside);
    const bundle = sb.bundle(["true"]);
    rmSync(`${bundle}/rootfs/proc`, { recursive: true, force: true });
    symlinkSync(outside, `${bundle}/rootfs/proc`);
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).not.toBe(0);
    expect(hostMounts()).not.toContain(outside);
    expect(existsSync(`${outside}/self`)).toBe(false);
  });

  test("a bind destination symlinked to a host path lands inside the rootfs", () => {
    const outside = `${sb.dir}/outside-bind`;
    mkdirSync(outside);
    const src = `${sb.dir}/bind-src`;
    mkdirSync(src);
    writeFileSync(`${src}/marker`, "m");
    const bundle = sb.bundle(["cat", "/data/marker"], (c) => {
      c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["bind"] });
    });
    symlinkSync(outside, `${bundle}/rootfs/data`);
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("m");
    expect(existsSync(`${outside}/marker`)).toBe(false);
    expect(hostMounts()).not.toContain(outside);
  });

  test("sysctl: a /proc that is not procfs is refused (a tmpfs posing as /proc cannot take the write)", () => {
    const bundle = sb.bundle(["true"], (c) => {
      c.mounts = c.mounts.map((m: { destination: string }) => (m.destination === "/proc" ? { destination: "/proc", type: "tmpfs", source: "tmpfs" } : m));
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
      c.linux.sysctl = { "kernel.shmmax": "4096" };
    });
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain("sysctl kernel.shmmax");
  });

  test("sysctl: a key climbing out of /proc/sys with .. is refused", () => {
    const bundle = sb.bundle(["true"], (c) => (c.linux.sysctl = { "net/../../net/ipv4/ip_forward": "1" }));
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr).toContain("not a valid sysctl name");
    expect(sb.bunc(["list", "-q"]).stdout).toBe("");
  });
});
