/**
 * Reading the container's /etc/passwd from the host. The file is opened
 * with openat2(2) RESOLVE_IN_ROOT under the container's root, so a symlink
 * in the rootfs can never make bunc read a host file.
 */
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { cstr, rawSyscall } from "../linux/libc";

const SYS_openat2 = 437;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_NO_MAGICLINKS = 0x02;
const O_CLOEXEC = 0o2000000;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The entries of a passwd(5) file. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/" });
  }
  return out;
}

/** The text of `file` (relative, e.g. "etc/passwd") inside the directory tree `root`, or undefined. */
export function readInRoot(root: string, file: string): string | undefined {
  let dir: number;
  try {
    dir = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return undefined;
  }
  try {
    const how = new BigUint64Array([BigInt(constants.O_RDONLY | O_CLOEXEC), 0n, BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)]);
    const fd = rawSyscall(SYS_openat2, dir, cstr(file), how, 24);
    if (fd < 0) return undefined;
    try {
      return readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(dir);
  }
}

/** The container's passwd entries: root is a rootfs path, or /proc/PID/root of a running container. */
export function containerPasswd(root: string): PasswdEntry[] {
  return parsePasswd(readInRoot(root, "etc/passwd") ?? "");
}

/** HOME for uid as runc sets it when the env has none: its passwd home, or "/". */
export function homeOf(root: string, uid: number): string {
  return containerPasswd(root).find((e) => e.uid === uid)?.home ?? "/";
}
