/** src/linux/mountinfo.ts on a fixed mount table. */
import { describe, expect, test } from "bun:test";
import { hostProcAndSysfs, mountTable, parentMountOf } from "../../src/linux/mountinfo";

const TABLE = mountTable(
  [
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    "27 26 0:5 / /proc rw,nosuid - proc proc rw",
    "28 26 0:6 / /sys rw,nosuid shared:3 - sysfs sysfs rw",
    "29 27 0:30 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw",
    "30 26 0:5 /sys /mnt/procsys rw - proc proc rw",
    "31 26 0:5 / /bundles/c1/rootfs/proc rw - proc proc rw",
    "32 26 0:5 / /bundles/c1/rootfs2/proc rw - proc proc rw",
    "33 26 0:40 / /bundles rw shared:7 - tmpfs tmpfs rw",
    "34 26 0:41 / /with\\040space rw - sysfs sysfs rw",
  ].join("\n"),
);

describe("mountinfo", () => {
  test("hostProcAndSysfs: whole procfs and sysfs mounts outside the rootfs (a prefix that is not a parent does not count)", () => {
    expect(hostProcAndSysfs("/bundles/c1/rootfs", TABLE)).toEqual(["/proc", "/sys", "/bundles/c1/rootfs2/proc", "/with space"]);
  });

  test("parentMountOf: the deepest mount holding the path, and whether it is shared", () => {
    expect(parentMountOf("/bundles/c1/rootfs", TABLE)).toEqual({ mountpoint: "/bundles", shared: true });
    expect(parentMountOf("/bundlesX", TABLE)).toEqual({ mountpoint: "/", shared: false });
  });
});
