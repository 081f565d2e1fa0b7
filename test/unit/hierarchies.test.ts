/** src/cgroups/hierarchies.ts: parsing /proc/self/mountinfo and /proc/self/cgroup text. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hierarchies, ownCgroups } from "../../src/cgroups/hierarchies";

/** This host (Debian 12 image, v1 hybrid, no systemd): `grep cgroup /proc/self/mountinfo`, plus an unrelated line. */
const HOST_MOUNTINFO = `23 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** This host's /proc/self/cgroup. */
const HOST_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/cedce9ea15e6b854e70069cb8e6d6490
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

/** A systemd host with co-mounted controllers, optional fields and more super options. */
const SYSTEMD_V1_MOUNTINFO = `25 21 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,memory
33 25 0:30 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
34 25 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
`;

/** A cgroup2-only host. */
const V2_MOUNTINFO = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_CGROUP = "0::/user.slice/user-1000.slice/session-2.scope\n";

describe("hierarchies", () => {
  test("this host: nine v1 hierarchies and the unified one, tmpfs and overlay ignored", () => {
    expect(hierarchies(HOST_MOUNTINFO)).toEqual([
      { mountpoint: "/sys/fs/cgroup/cpu", controllers: ["cpu"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/cpuacct", controllers: ["cpuacct"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/cpuset", controllers: ["cpuset"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/memory", controllers: ["memory"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/devices", controllers: ["devices"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/freezer", controllers: ["freezer"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/blkio", controllers: ["blkio"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/pids", controllers: ["pids"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/systemd", controllers: ["name=systemd"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/unified", controllers: [], version: 2, root: "/" },
    ]);
  });

  test("systemd host: co-mounted controllers, optional fields, mount roots, non-controller options dropped, one mount per hierarchy", () => {
    expect(hierarchies(SYSTEMD_V1_MOUNTINFO)).toEqual([
      { mountpoint: "/sys/fs/cgroup/unified", controllers: [], version: 2, root: "/" },
      { mountpoint: "/sys/fs/cgroup/systemd", controllers: ["name=systemd"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/cpu,cpuacct", controllers: ["cpu", "cpuacct"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/net_cls,net_prio", controllers: ["net_cls", "net_prio"], version: 1, root: "/" },
      { mountpoint: "/sys/fs/cgroup/memory", controllers: ["memory"], version: 1, root: "/docker/abc" },
      { mountpoint: "/sys/fs/cgroup/cpuset", controllers: ["cpuset"], version: 1, root: "/" },
    ]);
  });

  test("cgroup2-only host: one hierarchy at /sys/fs/cgroup", () => {
    expect(hierarchies(V2_MOUNTINFO)).toEqual([{ mountpoint: "/sys/fs/cgroup", controllers: [], version: 2, root: "/" }]);
  });

  test("octal escapes in the mount point are decoded", () => {
    const line = "40 31 0:37 / /mnt/my\\040cgroups\\011x rw,relatime - cgroup cgroup rw,pids\n";
    expect(hierarchies(line)[0]!.mountpoint).toBe("/mnt/my cgroups\tx");
  });

  test("no cgroup mounts, empty text", () => {
    expect(hierarchies("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")).toEqual([]);
    expect(hierarchies("")).toEqual([]);
  });

  test("reads this process's mountinfo by default", () => {
    expect(hierarchies()).toEqual(hierarchies(readFileSync("/proc/self/mountinfo", "utf8")));
  });
});

describe("ownCgroups", () => {
  test("this host: one entry per v1 controller list and '' for cgroup2", () => {
    expect([...ownCgroups(HOST_CGROUP)]).toEqual([
      ["name=systemd", "/"],
      ["pids", "/"],
      ["blkio", "/"],
      ["freezer", "/"],
      ["devices", "/"],
      ["memory", "/process_api/cedce9ea15e6b854e70069cb8e6d6490"],
      ["cpuset", "/"],
      ["cpuacct", "/"],
      ["cpu", "/"],
      ["", "/"],
    ]);
  });

  test("cgroup2-only", () => {
    expect([...ownCgroups(V2_CGROUP)]).toEqual([["", "/user.slice/user-1000.slice/session-2.scope"]]);
  });

  test("co-mounted controllers stay one key; a path may contain ':'", () => {
    const m = ownCgroups("4:cpu,cpuacct:/docker/a:b\n");
    expect(m.get("cpu,cpuacct")).toBe("/docker/a:b");
    expect(m.size).toBe(1);
  });

  test("blank and malformed lines are skipped", () => {
    expect(ownCgroups("\nnot a line\n0::/x\n").size).toBe(1);
  });

  test("reads this process's cgroup file by default", () => {
    expect(ownCgroups()).toEqual(ownCgroups(readFileSync("/proc/self/cgroup", "utf8")));
    expect(ownCgroups().size).toBeGreaterThan(0);
  });
});
