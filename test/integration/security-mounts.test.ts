/**
 * Idmapped bind mounts (mounts[].uidMappings/gidMappings, "idmap",
 * "ridmap") and recursive mount attributes on every mount type, checked
 * from inside the container (stat, /proc/self/mountinfo) and on the host.
 * runc 1.1.5 has no idmapped mounts: it passes "idmap" to the kernel as
 * filesystem data, which a bind mount ignores, and the owner shows through.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { integrationSkipReason, RUNC, Sandbox } from "../harness";
import { accessOptions, mapUsers, mountAt, openSandboxForUserns, parseMountInfo, type Config, sections, setNamespace, show } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.log(`skip security-mounts: ${skip}`);
const sb = new Sandbox();
openSandboxForUserns(sb);
afterAll(() => sb.cleanup());

/** A host directory owned by 1000:1000 holding a file owned by 1000:1000. */
function ownedBy1000(): string {
  const dir = `${sb.dir}/src-${readdirSync(sb.dir).length}`;
  mkdirSync(dir);
  writeFileSync(`${dir}/f`, "x");
  for (const p of [dir, `${dir}/f`]) chownSync(p, 1000, 1000);
  return dir;
}

const one = (containerID: number, hostID: number) => [{ containerID, hostID, size: 1 }];

/** Run script with `mount` added (and a user namespace mapping 0 → 100000 when userns); /data exists in the rootfs. */
function run(script: string, mount: Config, opts: { userns?: boolean; runtime?: "bunc" | "runc"; edit?: (c: Config) => void; id?: string } = {}) {
  const bundle = sb.bundle(["sh", "-c", script], (c) => {
    if (opts.userns) {
      setNamespace(c, "user");
      mapUsers(c);
    }
    c.mounts.push({ destination: "/data", type: "bind", ...mount });
    opts.edit?.(c);
  });
  mkdirSync(`${bundle}/rootfs/data`, { recursive: true });
  const args = ["run", "-b", bundle, opts.id ?? sb.id()];
  return opts.runtime === "runc" ? sb.runc(args) : sb.bunc(args);
}

describe.skipIf(!!skip)("idmapped mounts", () => {
  test("without a user namespace: host uid 1000 shows as 0; a file made inside belongs to 1000 on the host", () => {
    const src = ownedBy1000();
    const r = run("stat -c '%u:%g' /data /data/f; touch /data/new; grep ' /data ' /proc/self/mountinfo", {
      source: src, options: ["bind", "idmap"], uidMappings: one(1000, 0), gidMappings: one(1000, 0),
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual(["0:0", "0:0"]);
    expect(r.stdout).toContain("idmapped");
    const st = statSync(`${src}/new`);
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  test("in a user namespace (0 → 100000): host uid 1000 mapped to 100000 shows as the container's root", () => {
    const src = ownedBy1000();
    const r = run("stat -c '%u:%g' /data /data/f; touch /data/new", {
      source: src, options: ["bind", "idmap"], uidMappings: one(1000, 100000), gidMappings: one(1000, 100000),
    }, { userns: true });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("0:0\n0:0\n");
    const st = statSync(`${src}/new`);
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  test("ids outside the mapping show as the overflow id (65534)", () => {
    const src = ownedBy1000();
    chownSync(`${src}/f`, 2000, 2000);
    const r = run("stat -c '%u:%g' /data /data/f", { source: src, options: ["bind"], uidMappings: one(1000, 0), gidMappings: one(1000, 0) });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("0:0\n65534:65534\n");
  });

  test('"idmap" alone takes the container\'s user namespace mappings: host root files stay root inside', () => {
    const src = ownedBy1000();
    chownSync(`${src}/f`, 0, 0);
    const r = run("stat -c '%u:%g' /data /data/f", { source: src, options: ["bind", "idmap"] }, { userns: true });
    expect(r.code, show(r)).toBe(0);
    // On disk 0 → 100000 through the mount → 0 in the container; 1000 → 101000 → 1000.
    expect(r.stdout).toBe("1000:1000\n0:0\n");
  });

  test("ridmap maps submounts too; idmap only the top mount", () => {
    const outer = ownedBy1000();
    const inner = ownedBy1000();
    mkdirSync(`${outer}/sub`);
    const mounted = Bun.spawnSync(["mount", "--bind", inner, `${outer}/sub`]);
    expect(mounted.exitCode).toBe(0);
    try {
      const script = "stat -c '%u' /data /data/sub";
      const maps = { uidMappings: one(1000, 0), gidMappings: one(1000, 0) };
      const rec = run(script, { source: outer, options: ["rbind", "ridmap"], ...maps });
      const top = run(script, { source: outer, options: ["rbind", "idmap"], ...maps });
      expect(rec.code, show(rec)).toBe(0);
      expect(rec.stdout).toBe("0\n0\n");
      expect(top.code, show(top)).toBe(0);
      expect(top.stdout).toBe("0\n1000\n");
    } finally {
      Bun.spawnSync(["umount", `${outer}/sub`]);
    }
  });

  test("refused with one clear line and nothing left behind: a tmpfs with idmap, uidMappings alone, idmap with no mappings anywhere", () => {
    const cases: [Config, string][] = [
      [{ type: "tmpfs", source: "tmpfs", options: ["idmap"], uidMappings: one(0, 0), gidMappings: one(0, 0) }, "supported only for bind mounts"],
      [{ source: ownedBy1000(), options: ["bind"], uidMappings: one(1000, 0) }, "needs both uidMappings and gidMappings"],
      [{ source: ownedBy1000(), options: ["bind", "idmap"] }, "the container has none"],
    ];
    for (const [mount, message] of cases) {
      const id = sb.id();
      const r = run("true", mount, { id });
      expect(r.code, show(r)).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    }
  });

  test.skipIf(!RUNC)("runc 1.1.5 has no idmapped mounts: the same config shows the host owner (1000)", () => {
    const src = ownedBy1000();
    const mount = { source: src, options: ["bind", "idmap"], uidMappings: one(1000, 0), gidMappings: one(1000, 0) };
    const r = run("stat -c '%u' /data", mount, { runtime: "runc" });
    // Whatever runc does with it, it never shows the mapped owner.
    expect(r.stdout).not.toBe("0\n");
  });
});

describe.skipIf(!!skip)("recursive mount attributes on non-bind mounts", () => {
  const script = "cat /proc/self/mountinfo";
  const tmpfs = (c: Config) => c.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"] });

  test("a tmpfs with rro, rnosuid, rnodev, rnoexec, rnoatime", () => {
    const r = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", script], tmpfs), sb.id()]);
    expect(r.code, show(r)).toBe(0);
    expect(accessOptions(mountAt(parseMountInfo(r.stdout), "/t"))).toEqual(["noatime", "nodev", "noexec", "nosuid", "ro"]);
  });

  test.skipIf(!RUNC)("runc 1.1.5 silently drops them on a tmpfs (it applies recursive attributes to bind mounts only)", () => {
    const r = sb.runc(["run", "-b", sb.bundle(["sh", "-c", script], tmpfs), sb.id()]);
    expect(r.code, show(r)).toBe(0);
    expect(accessOptions(mountAt(parseMountInfo(r.stdout), "/t"))).toEqual(["relatime", "rw"]);
  });

  test("rstrictatime then ratime on a tmpfs: the last atime word wins (relatime)", () => {
    const bundle = sb.bundle(["sh", "-c", script], (c) => {
      c.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["rstrictatime", "ratime"] });
      c.mounts.push({ destination: "/s", type: "tmpfs", source: "tmpfs", options: ["rstrictatime"] });
    });
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).toBe(0);
    const mounts = parseMountInfo(r.stdout);
    expect(accessOptions(mountAt(mounts, "/t"))).toEqual(["relatime", "rw"]);
    // strictatime is the absence of relatime and noatime in mountinfo.
    expect(accessOptions(mountAt(mounts, "/s"))).toEqual(["rw"]);
  });

  test("the cgroup mount with rnoexec: every hierarchy under it is noexec", () => {
    const bundle = sb.bundle(["sh", "-c", script], (c) => {
      c.mounts.find((m: Config) => m.type === "cgroup").options.push("rnoexec");
    });
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.code, show(r)).toBe(0);
    const under = parseMountInfo(r.stdout).filter((m) => m.mountPoint.startsWith("/sys/fs/cgroup"));
    expect(under.length).toBeGreaterThan(1);
    for (const m of under) expect(m.options).toContain("noexec");
  });
});
