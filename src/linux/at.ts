/**
 * The *at(2) family relative to a directory fd, for writing a tree beneath a
 * root without ever following a path out of it: openat2(2) with
 * RESOLVE_BENEATH resolves a relative path only inside the dirfd's tree
 * (EXDEV for an absolute symlink or ".." that would leave it), and every
 * other call here acts on one final component without following it.
 */
import { cstr, errnoError, rawSyscall } from "./libc";

/** x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
const NR = {
  lsetxattr: 189,
  openat: 257,
  mkdirat: 258,
  mknodat: 259,
  fchownat: 260,
  newfstatat: 262,
  unlinkat: 263,
  linkat: 265,
  symlinkat: 266,
  fchmodat: 268,
  utimensat: 280,
  openat2: 437,
} as const;

export const O_PATH = 0o10000000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_WRONLY = 1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_BENEATH = 0x08;
export const EXDEV = 18;
export const ENOENT = 2;
export const EEXIST = 17;
export const ELOOP = 40;

function check(what: string, r: number): number {
  if (r < 0) throw errnoError(what, -r);
  return r;
}

/** openat2(2) of rel beneath dirfd; returns the fd or -errno (the caller words the refusal). */
export function openat2(dirfd: number, rel: string, flags: number, resolve: number, mode = 0): number {
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), BigInt(mode), BigInt(resolve)]);
  return rawSyscall(NR.openat2, dirfd, cstr(rel), how, 24);
}

/** openat(2) of one name in dirfd (O_NOFOLLOW is the caller's to add). */
export function openAt(what: string, dirfd: number, name: string, flags: number, mode = 0): number {
  return check(what, rawSyscall(NR.openat, dirfd, cstr(name), flags | O_CLOEXEC, mode));
}

export function mkdirAt(what: string, dirfd: number, name: string, mode: number): void {
  check(what, rawSyscall(NR.mkdirat, dirfd, cstr(name), mode));
}

/** mknodat(2): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknodAt(what: string, dirfd: number, name: string, mode: number, major: number, minor: number): void {
  // The kernel's new_encode_dev layout of dev_t.
  const dev = (BigInt(major & 0xfff) << 8n) | BigInt(minor & 0xff) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n);
  check(what, rawSyscall(NR.mknodat, dirfd, cstr(name), mode, dev));
}

export function symlinkAt(what: string, target: string, dirfd: number, name: string): void {
  check(what, rawSyscall(NR.symlinkat, cstr(target), dirfd, cstr(name)));
}

/** linkat(2) without AT_SYMLINK_FOLLOW: a link to a symlink is a link to the symlink itself. */
export function linkAt(what: string, olddirfd: number, oldname: string, newdirfd: number, newname: string): void {
  check(what, rawSyscall(NR.linkat, olddirfd, cstr(oldname), newdirfd, cstr(newname), 0));
}

/** unlinkat(2); returns -errno rather than throwing (ENOENT is often fine). */
export function unlinkAt(dirfd: number, name: string, flags = 0): number {
  return rawSyscall(NR.unlinkat, dirfd, cstr(name), flags);
}

export function fchownAt(what: string, dirfd: number, name: string, uid: number, gid: number): void {
  check(what, rawSyscall(NR.fchownat, dirfd, cstr(name), uid, gid, AT_SYMLINK_NOFOLLOW));
}

/** fchmodat(2) follows a final symlink: call it only on what is known not to be one. */
export function fchmodAt(what: string, dirfd: number, name: string, mode: number): void {
  check(what, rawSyscall(NR.fchmodat, dirfd, cstr(name), mode));
}

/** Set atime and mtime (seconds, nanoseconds) of name itself, never a symlink's target. */
export function utimensAt(what: string, dirfd: number, name: string, sec: number, nsec: number): void {
  const times = new BigInt64Array([BigInt(sec), BigInt(nsec), BigInt(sec), BigInt(nsec)]);
  check(what, rawSyscall(NR.utimensat, dirfd, cstr(name), times, AT_SYMLINK_NOFOLLOW));
}

/** lsetxattr(2) on name in dirfd, through /proc/self/fd (an O_PATH fd has no fsetxattr). */
export function lsetxattrAt(what: string, dirfd: number, name: string, key: string, value: Uint8Array): void {
  check(what, rawSyscall(NR.lsetxattr, cstr(`/proc/self/fd/${dirfd}/${name}`), cstr(key), value.length ? value : new Uint8Array(1), value.length, 0));
}

/** The file type bits (S_IFMT) of name in dirfd, not following a symlink; 0 when it does not exist. */
export function typeAt(dirfd: number, name: string): number {
  const st = new BigUint64Array(18); // struct stat is 144 bytes on x86_64
  const r = rawSyscall(NR.newfstatat, dirfd, cstr(name), st, AT_SYMLINK_NOFOLLOW);
  if (r === -ENOENT) return 0;
  check(`stat ${name}`, r);
  return Number(st[3]! & 0xffffffffn) & 0o170000; // st_mode at offset 24
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
