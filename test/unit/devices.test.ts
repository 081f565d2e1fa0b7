/** src/plan/devices.ts: the default nodes, st_mode for mknod(2), and makedev(3) as glibc encodes it. */
import { describe, expect, test } from "bun:test";
import { defaultDevices, DEV_SYMLINKS, deviceMode, deviceNumber } from "../../src/plan/devices";

/** glibc's gnu_dev_major/gnu_dev_minor (sysdeps/unix/sysv/linux/sys/sysmacros.h), to decode. */
const major = (dev: bigint) => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n));
const minor = (dev: bigint) => Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));

describe("deviceNumber", () => {
  // Values from glibc's makedev (python3 -c 'import os; print(hex(os.makedev(M, m)))').
  const known: [number, number, bigint][] = [
    [0, 0, 0x0n],
    [1, 3, 0x103n],
    [1, 9, 0x109n],
    [5, 0, 0x500n],
    [8, 0, 0x800n],
    [136, 300, 0x10882cn],
    [259, 65536, 0x10010300n],
    [4096, 256, 0x100000100000n],
    [0xfffff, 0xfffff, 0xff000ffffffffn],
  ];
  for (const [ma, mi, dev] of known) {
    test(`(${ma}, ${mi}) → 0x${dev.toString(16)}`, () => expect(deviceNumber(ma, mi)).toBe(dev));
  }

  test("decodes back with glibc's major()/minor()", () => {
    for (const [ma, mi] of [[10, 229], [254, 1], [4095, 255], [4096, 256], [0xfffff, 0xfffff], [0xffffffff, 0xffffffff]] as const) {
      const dev = deviceNumber(ma, mi);
      expect([major(dev), minor(dev)]).toEqual([ma, mi]);
    }
  });

  test("32-bit major and minor fill the 64-bit dev_t", () => {
    expect(deviceNumber(0xffffffff, 0xffffffff)).toBe(0xffffffffffffffffn);
  });
});

describe("deviceMode", () => {
  test("file type from config's type letter, with the permission bits", () => {
    expect(deviceMode({ path: "/dev/x", type: "c", fileMode: 0o666 })).toBe(0o020666);
    expect(deviceMode({ path: "/dev/x", type: "u", fileMode: 0o600 })).toBe(0o020600);
    expect(deviceMode({ path: "/dev/x", type: "b", fileMode: 0o660 })).toBe(0o060660);
    expect(deviceMode({ path: "/dev/x", type: "p", fileMode: 0o644 })).toBe(0o010644);
  });

  test("fileMode defaults to 0666", () => {
    expect(deviceMode({ path: "/dev/x", type: "c" })).toBe(0o020666);
  });

  test("setuid/setgid/sticky bits are kept, file type bits from fileMode are not", () => {
    expect(deviceMode({ path: "/dev/x", type: "c", fileMode: 0o4755 })).toBe(0o024755);
    expect(deviceMode({ path: "/dev/x", type: "b", fileMode: 0o100644 })).toBe(0o060644);
  });
});

describe("defaultDevices", () => {
  test("runc's six nodes: char, 0666, root-owned", () => {
    expect(defaultDevices()).toEqual([
      { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
  });

  test("each call returns fresh objects", () => {
    const a = defaultDevices();
    a[0]!.fileMode = 0;
    expect(defaultDevices()[0]!.fileMode).toBe(0o666);
  });
});

describe("DEV_SYMLINKS", () => {
  test("fd, stdio and ptmx links, as runc makes them", () => {
    expect(DEV_SYMLINKS).toEqual([
      ["/dev/fd", "/proc/self/fd"],
      ["/dev/stdin", "/proc/self/fd/0"],
      ["/dev/stdout", "/proc/self/fd/1"],
      ["/dev/stderr", "/proc/self/fd/2"],
      ["/dev/ptmx", "pts/ptmx"],
    ]);
  });
});
