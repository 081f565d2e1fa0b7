/** The device nodes and /dev symlinks every container gets (runc's defaults), and their encoding. */

export interface DeviceNode {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** /dev/null, zero, full, random, urandom and tty: char devices, mode 0666, owned by root. */
export function defaultDevices(): DeviceNode[] {
  return [
    { path: "/dev/null", type: "c", major: 1, minor: 3 },
    { path: "/dev/zero", type: "c", major: 1, minor: 5 },
    { path: "/dev/full", type: "c", major: 1, minor: 7 },
    { path: "/dev/random", type: "c", major: 1, minor: 8 },
    { path: "/dev/urandom", type: "c", major: 1, minor: 9 },
    { path: "/dev/tty", type: "c", major: 5, minor: 0 },
  ].map((d) => ({ ...d, fileMode: 0o666, uid: 0, gid: 0 }));
}

/** [link, target] pairs made in every container's /dev (runc's setupDevSymlinks and setupPtmx). */
export const DEV_SYMLINKS: [string, string][] = [
  ["/dev/fd", "/proc/self/fd"],
  ["/dev/stdin", "/proc/self/fd/0"],
  ["/dev/stdout", "/proc/self/fd/1"],
  ["/dev/stderr", "/proc/self/fd/2"],
  ["/dev/ptmx", "pts/ptmx"],
];

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** st_mode for mknod(2): the file type of config's "c"/"u"/"b"/"p" with the permission bits. */
export function deviceMode(d: DeviceNode): number {
  const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
  return type | ((d.fileMode ?? 0o666) & 0o7777);
}

/** makedev(3) as glibc encodes it. */
export function deviceNumber(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}
