/**
 * mount(8)-style option strings of a config.json mount, split into what
 * mount(2) takes (flags and a data string) and what mount_setattr(2) takes
 * (MOUNT_ATTR_* to set and clear) for bind mounts.
 */
import { BuncError } from "../errors";

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, POSIXACL: 1 << 16, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19,
  SHARED: 1 << 20, RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, ATIME: 0x70, RELATIME: 0, NOATIME: 0x10,
  STRICTATIME: 0x20, NODIRATIME: 0x80, IDMAP: 0x100000, NOSYMFOLLOW: 0x200000,
} as const;

/** Options that set (true) or clear (false) a mount(2) flag. */
const FLAGS: Record<string, [number, boolean]> = {
  ro: [MS.RDONLY, true], rw: [MS.RDONLY, false],
  nosuid: [MS.NOSUID, true], suid: [MS.NOSUID, false],
  nodev: [MS.NODEV, true], dev: [MS.NODEV, false],
  noexec: [MS.NOEXEC, true], exec: [MS.NOEXEC, false],
  sync: [MS.SYNCHRONOUS, true], async: [MS.SYNCHRONOUS, false],
  dirsync: [MS.DIRSYNC, true],
  remount: [MS.REMOUNT, true],
  mand: [MS.MANDLOCK, true], nomand: [MS.MANDLOCK, false],
  noatime: [MS.NOATIME, true], atime: [MS.NOATIME, false],
  nodiratime: [MS.NODIRATIME, true], diratime: [MS.NODIRATIME, false],
  relatime: [MS.RELATIME, true], norelatime: [MS.RELATIME, false],
  strictatime: [MS.STRICTATIME, true], nostrictatime: [MS.STRICTATIME, false],
  lazytime: [MS.LAZYTIME, true], nolazytime: [MS.LAZYTIME, false],
  iversion: [MS.I_VERSION, true], noiversion: [MS.I_VERSION, false],
  silent: [MS.SILENT, true], loud: [MS.SILENT, false],
  nosymfollow: [MS.NOSYMFOLLOW, true], symfollow: [MS.NOSYMFOLLOW, false],
  // As runc 1.1 (which bunc replaces), MS_POSIXACL: filesystems with ACLs (tmpfs, ext4) set
  // or clear it themselves, so "acl" on a tmpfs mounts where the word as data is refused
  // (EINVAL). runc 1.2 passes both words as data instead (runc#3738, #3739).
  acl: [MS.POSIXACL, true], noacl: [MS.POSIXACL, false],
  defaults: [0, true],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive attributes (mount_setattr(2) with AT_RECURSIVE): "rro", "rnosuid", …; the atime ones are in RECURSIVE_ATIME. */
const RECURSIVE: Record<string, [number, boolean]> = {
  rro: [MOUNT_ATTR.RDONLY, true], rrw: [MOUNT_ATTR.RDONLY, false],
  rnosuid: [MOUNT_ATTR.NOSUID, true], rsuid: [MOUNT_ATTR.NOSUID, false],
  rnodev: [MOUNT_ATTR.NODEV, true], rdev: [MOUNT_ATTR.NODEV, false],
  rnoexec: [MOUNT_ATTR.NOEXEC, true], rexec: [MOUNT_ATTR.NOEXEC, false],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, true], rdiratime: [MOUNT_ATTR.NODIRATIME, false],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, true], rsymfollow: [MOUNT_ATTR.NOSYMFOLLOW, false],
};

/**
 * Recursive atime modes. The atime setting is one field, not a set of bits
 * (mount_setattr(2): a mode in attr_set needs all of MOUNT_ATTR__ATIME in
 * attr_clr), so the last word wins. The negations restore the kernel's
 * default, relatime, as mount(2) does when no atime flag is given.
 */
const RECURSIVE_ATIME: Record<string, number> = {
  rnoatime: MOUNT_ATTR.NOATIME, rstrictatime: MOUNT_ATTR.STRICTATIME, rrelatime: MOUNT_ATTR.RELATIME,
  ratime: MOUNT_ATTR.RELATIME, rnorelatime: MOUNT_ATTR.RELATIME, rnostrictatime: MOUNT_ATTR.RELATIME,
};

export interface MountOptions {
  /** MS_* flags for mount(2), bind and propagation excluded. */
  flags: number;
  /** MS_* flags the options explicitly clear ("rw", "suid", …). */
  cleared: number;
  /** Propagation flags (MS_SHARED|MS_REC, …), applied after the mount. */
  propagation: number;
  bind: boolean;
  recursiveBind: boolean;
  /** MOUNT_ATTR_* to set and clear recursively ("rro", …). */
  recursiveSet: number;
  recursiveClear: number;
  /** "tmpcopyup" (runc's extension): a tmpfs starts with a copy of what it covers. */
  tmpcopyup: boolean;
  /** "idmap" (the mount itself) or "ridmap" (it and its submounts): an idmapped bind mount; undefined without. */
  idmap?: "idmap" | "ridmap";
  /** Everything else, for the filesystem: "mode=755,size=65536k". */
  data: string;
}

/** Every option word this build understands (for `features`). */
export function knownMountOptions(): string[] {
  return ["bind", "rbind", "tmpcopyup", ...Object.keys(FLAGS), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE), ...Object.keys(RECURSIVE_ATIME), "idmap", "ridmap"].sort();
}

/** Parse a mount's options; unknown words are filesystem data, as mount(8) does. */
export function parseMountOptions(options: readonly string[] = []): MountOptions {
  const o: MountOptions = { flags: 0, cleared: 0, propagation: 0, bind: false, recursiveBind: false, recursiveSet: 0, recursiveClear: 0, tmpcopyup: false, data: "" };
  const data: string[] = [];
  for (const opt of options) {
    if (opt === "bind") o.bind = true;
    else if (opt === "rbind") o.bind = o.recursiveBind = true;
    else if (opt === "tmpcopyup") o.tmpcopyup = true;
    else if (opt in FLAGS) {
      const [flag, set] = FLAGS[opt]!;
      if (set) { o.flags |= flag; o.cleared &= ~flag; } else { o.flags &= ~flag; o.cleared |= flag; }
    } else if (opt in PROPAGATION) o.propagation = PROPAGATION[opt]!;
    else if (opt in RECURSIVE) {
      const [attr, set] = RECURSIVE[opt]!;
      if (set) o.recursiveSet |= attr; else o.recursiveClear |= attr;
    } else if (opt in RECURSIVE_ATIME) {
      o.recursiveSet = (o.recursiveSet & ~MOUNT_ATTR.ATIME) | RECURSIVE_ATIME[opt]!;
      o.recursiveClear |= MOUNT_ATTR.ATIME;
    } else if (opt === "idmap" || opt === "ridmap") {
      if (o.idmap && o.idmap !== opt) throw new BuncError(`mount options "idmap" and "ridmap" exclude each other`, { code: "CONFIG" });
      o.idmap = opt;
    } else data.push(opt);
  }
  o.data = data.join(",");
  return o;
}

/** The MOUNT_ATTR_* set/clear pair that applies a bind mount's flags with mount_setattr(2). */
export function bindAttributes(o: MountOptions): { set: number; clear: number } {
  const pairs: [number, number][] = [
    [MS.RDONLY, MOUNT_ATTR.RDONLY], [MS.NOSUID, MOUNT_ATTR.NOSUID], [MS.NODEV, MOUNT_ATTR.NODEV],
    [MS.NOEXEC, MOUNT_ATTR.NOEXEC], [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME], [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
  ];
  let set = 0, clear = 0;
  for (const [ms, attr] of pairs) {
    if (o.flags & ms) set |= attr;
    else if (o.cleared & ms) clear |= attr;
  }
  // The atime mode is one field: setting any of it needs MOUNT_ATTR__ATIME cleared (mount_setattr(2)).
  const atime = o.flags & MS.NOATIME ? MOUNT_ATTR.NOATIME : o.flags & MS.STRICTATIME ? MOUNT_ATTR.STRICTATIME : o.flags & MS.RELATIME ? MOUNT_ATTR.RELATIME : -1;
  if (atime >= 0) { set |= atime; clear |= MOUNT_ATTR.ATIME; }
  return { set, clear };
}
