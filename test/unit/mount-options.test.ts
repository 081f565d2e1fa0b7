/** parseMountOptions and bindAttributes, with the kernel's constant values written out (linux/mount.h). */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { bindAttributes, knownMountOptions, parseMountOptions } from "../../src/plan/mount-options";

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_NOSYMFOLLOW = 0x100;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_REC = 0x4000;
const MS_POSIXACL = 0x10000;
const MS_UNBINDABLE = 0x20000;
const MS_PRIVATE = 0x40000;
const MS_SLAVE = 0x80000;
const MS_SHARED = 0x100000;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;

const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
const MOUNT_ATTR__ATIME = 0x70;
const MOUNT_ATTR_RELATIME = 0x0;
const MOUNT_ATTR_NOATIME = 0x10;
const MOUNT_ATTR_STRICTATIME = 0x20;
const MOUNT_ATTR_NODIRATIME = 0x80;
const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

describe("parseMountOptions: flags", () => {
  test("no options: nothing set", () => {
    expect(parseMountOptions()).toEqual({ flags: 0, cleared: 0, propagation: 0, bind: false, recursiveBind: false, recursiveSet: 0, recursiveClear: 0, tmpcopyup: false, data: "" });
    expect(parseMountOptions([])).toEqual(parseMountOptions());
  });

  test("acl sets MS_POSIXACL and noacl clears it, as runc 1.1's flags (runc 1.2 passes them as data: runc#3739); neither is data", () => {
    expect(parseMountOptions(["acl"])).toMatchObject({ flags: MS_POSIXACL, cleared: 0, data: "" });
    expect(parseMountOptions(["acl", "noacl"])).toMatchObject({ flags: 0, cleared: MS_POSIXACL, data: "" });
    expect(knownMountOptions()).toEqual(expect.arrayContaining(["acl", "noacl"]));
  });

  test("each setting word sets its MS_* flag", () => {
    const cases: [string, number][] = [
      ["ro", MS_RDONLY], ["nosuid", MS_NOSUID], ["nodev", MS_NODEV], ["noexec", MS_NOEXEC], ["sync", MS_SYNCHRONOUS],
      ["remount", MS_REMOUNT], ["noatime", MS_NOATIME], ["nodiratime", MS_NODIRATIME], ["relatime", MS_RELATIME],
      ["strictatime", MS_STRICTATIME], ["nosymfollow", MS_NOSYMFOLLOW],
    ];
    for (const [word, flag] of cases) expect({ word, flags: parseMountOptions([word]).flags }).toEqual({ word, flags: flag });
  });

  test("runc spec's /sys options", () => {
    const o = parseMountOptions(["nosuid", "noexec", "nodev", "ro"]);
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
    expect(o.cleared).toBe(0);
    expect(o.data).toBe("");
  });

  test("a clearing word clears the flag and records it as cleared", () => {
    const o = parseMountOptions(["ro", "nosuid", "rw", "suid", "exec", "dev"]);
    expect(o.flags).toBe(0);
    expect(o.cleared).toBe(MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV);
  });

  test("the last word wins", () => {
    const a = parseMountOptions(["rw", "ro"]);
    expect(a.flags).toBe(MS_RDONLY);
    expect(a.cleared).toBe(0);
    const b = parseMountOptions(["ro", "rw"]);
    expect(b.flags).toBe(0);
    expect(b.cleared).toBe(MS_RDONLY);
  });

  test('"defaults" changes nothing', () => {
    expect(parseMountOptions(["defaults"])).toEqual(parseMountOptions([]));
    expect(parseMountOptions(["nosuid", "defaults"]).flags).toBe(MS_NOSUID);
  });

});

describe("parseMountOptions: propagation", () => {
  test("plain and r-variants", () => {
    const cases: [string, number][] = [
      ["private", MS_PRIVATE], ["rprivate", MS_PRIVATE | MS_REC],
      ["shared", MS_SHARED], ["rshared", MS_SHARED | MS_REC],
      ["slave", MS_SLAVE], ["rslave", MS_SLAVE | MS_REC],
      ["unbindable", MS_UNBINDABLE], ["runbindable", MS_UNBINDABLE | MS_REC],
    ];
    for (const [word, prop] of cases) {
      const o = parseMountOptions([word]);
      expect({ word, propagation: o.propagation, flags: o.flags }).toEqual({ word, propagation: prop, flags: 0 });
    }
  });

  test("the last propagation word wins", () => {
    expect(parseMountOptions(["rshared", "private"]).propagation).toBe(MS_PRIVATE);
  });
});

describe("parseMountOptions: bind", () => {
  test("bind is not recursive, rbind is", () => {
    expect(parseMountOptions(["bind"])).toMatchObject({ bind: true, recursiveBind: false, flags: 0 });
    expect(parseMountOptions(["rbind"])).toMatchObject({ bind: true, recursiveBind: true, flags: 0 });
  });

  test("bind words are not data", () => {
    expect(parseMountOptions(["rbind", "ro"]).data).toBe("");
  });
});

describe("parseMountOptions: recursive attributes", () => {
  test("rro, rnosuid, rnodev, rnoexec, rnodiratime, rnosymfollow set MOUNT_ATTR_* recursively", () => {
    const o = parseMountOptions(["rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"]);
    expect(o.recursiveSet).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW);
    expect(o.recursiveClear).toBe(0);
    expect(o.flags).toBe(0);
  });

  test("rrw, rsuid, rdev, rexec clear them", () => {
    const o = parseMountOptions(["rrw", "rsuid", "rdev", "rexec"]);
    expect(o.recursiveClear).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    expect(o.recursiveSet).toBe(0);
  });

  test("recursive atime words set one mode for the tree, with all of MOUNT_ATTR__ATIME cleared; the last wins", () => {
    const mode = (...words: string[]) => {
      const o = parseMountOptions(words);
      expect(o.recursiveClear & MOUNT_ATTR__ATIME).toBe(MOUNT_ATTR__ATIME);
      return o.recursiveSet & MOUNT_ATTR__ATIME;
    };
    expect(mode("rnoatime")).toBe(MOUNT_ATTR_NOATIME);
    expect(mode("rstrictatime")).toBe(MOUNT_ATTR_STRICTATIME);
    // relatime is mode 0 (linux/mount.h MOUNT_ATTR_RELATIME), the kernel's default.
    for (const w of ["rrelatime", "ratime", "rnorelatime", "rnostrictatime"]) expect(mode(w)).toBe(0);
    expect(mode("rnoatime", "rstrictatime")).toBe(MOUNT_ATTR_STRICTATIME);
    expect(mode("rstrictatime", "ratime")).toBe(0);
    const withRo = parseMountOptions(["rro", "rnoatime"]);
    expect(withRo.recursiveSet).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME);
  });

  test("idmap and ridmap mark an idmapped mount; both at once is an error", () => {
    expect(parseMountOptions(["bind", "idmap"]).idmap).toBe("idmap");
    expect(parseMountOptions(["rbind", "ridmap"]).idmap).toBe("ridmap");
    expect(parseMountOptions(["rbind", "ridmap"]).data).toBe("");
    expect(parseMountOptions(["bind"]).idmap).toBeUndefined();
    expect(() => parseMountOptions(["idmap", "ridmap"])).toThrow('"idmap" and "ridmap" exclude each other');
  });
});

describe("parseMountOptions: data", () => {
  test("unknown words are filesystem data, in order, comma-joined", () => {
    const o = parseMountOptions(["nosuid", "strictatime", "mode=755", "size=65536k"]);
    expect(o.flags).toBe(MS_NOSUID | MS_STRICTATIME);
    expect(o.data).toBe("mode=755,size=65536k");
  });

  test("runc spec's /dev/pts options", () => {
    const o = parseMountOptions(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC);
    expect(o.data).toBe("newinstance,ptmxmode=0666,mode=0620,gid=5");
  });
});

describe("knownMountOptions", () => {
  test("lists bind words, flags, propagation and recursive attributes, sorted", () => {
    const known = knownMountOptions();
    for (const w of ["bind", "rbind", "ro", "rw", "nosuid", "rprivate", "rslave", "rro", "defaults"]) expect(known).toContain(w);
    expect(known).toEqual([...known].sort());
    for (const w of ["ratime", "rnoatime", "rrelatime", "rstrictatime", "rnorelatime", "rnostrictatime", "idmap", "ridmap"]) expect(known).toContain(w);
  });
});

describe("bindAttributes", () => {
  const attrs = (...words: string[]) => bindAttributes(parseMountOptions(words));

  test("set flags become MOUNT_ATTR_* to set", () => {
    expect(attrs("bind", "ro", "nosuid", "nodev", "noexec", "nodiratime", "nosymfollow")).toEqual({
      set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW,
      clear: 0,
    });
  });

  test("cleared flags become MOUNT_ATTR_* to clear", () => {
    expect(attrs("bind", "rw", "suid", "dev", "exec", "diratime", "symfollow")).toEqual({
      set: 0,
      clear: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW,
    });
  });

  test("unmentioned flags are neither set nor cleared (kept from the source)", () => {
    expect(attrs("bind")).toEqual({ set: 0, clear: 0 });
    expect(attrs("rbind", "nosuid")).toEqual({ set: MOUNT_ATTR_NOSUID, clear: 0 });
  });

  test("an atime mode sets its value and clears the whole MOUNT_ATTR__ATIME field", () => {
    expect(attrs("bind", "noatime")).toEqual({ set: MOUNT_ATTR_NOATIME, clear: MOUNT_ATTR__ATIME });
    expect(attrs("bind", "strictatime")).toEqual({ set: MOUNT_ATTR_STRICTATIME, clear: MOUNT_ATTR__ATIME });
    expect(attrs("bind", "relatime")).toEqual({ set: MOUNT_ATTR_RELATIME, clear: MOUNT_ATTR__ATIME });
  });

  test("noatime wins over strictatime and relatime", () => {
    expect(attrs("bind", "relatime", "strictatime", "noatime")).toEqual({ set: MOUNT_ATTR_NOATIME, clear: MOUNT_ATTR__ATIME });
  });

  test('"atime" alone leaves the atime mode alone', () => {
    expect(attrs("bind", "atime")).toEqual({ set: 0, clear: 0 });
  });

  test("flags mount_setattr cannot express (sync) are not turned into attributes", () => {
    expect(attrs("bind", "sync")).toEqual({ set: 0, clear: 0 });
  });
});

describe("parseMountOptions: tmpcopyup", () => {
  test("is runc's extension, not filesystem data", () => {
    const o = parseMountOptions(["rw", "nosuid", "tmpcopyup", "mode=755"]);
    expect(o.tmpcopyup).toBe(true);
    expect(o.data).toBe("mode=755");
  });
});
