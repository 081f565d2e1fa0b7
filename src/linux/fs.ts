/** File operations Node's fs lacks: mkfifo, flock, socketpair, raw reads and writes on an fd. */
import { cstr, errnoError, rawSyscall, SYS, syscall } from "./libc";

const AT_FDCWD = -100;
const S_IFIFO = 0o010000;
const EINTR = 4;

/** mkfifo(3) at path with mode. */
export function mkfifo(path: string, mode: number): void {
  syscall(`mkfifo ${path}`, SYS.mknodat, AT_FDCWD, cstr(path), S_IFIFO | mode, 0);
}

/** An exclusive flock(2) on fd, blocking; released when the fd is closed. */
export function lockExclusive(fd: number): void {
  syscall("flock", SYS.flock, fd, 2 /* LOCK_EX */);
}

/** A connected pair of AF_UNIX stream sockets, both close-on-exec. */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  syscall("socketpair", SYS.socketpair, 1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0, fds);
  return [fds[0]!, fds[1]!];
}

/** Read exactly buf.length bytes; returns false on end of file before any byte. */
export function readFull(fd: number, buf: Uint8Array): boolean {
  let got = 0;
  while (got < buf.length) {
    const r = rawSyscall(SYS.read, fd, buf.subarray(got), buf.length - got);
    if (r === -EINTR) continue;
    if (r < 0) throw errnoError("read", -r);
    if (r === 0) {
      if (got === 0) return false;
      throw errnoError("read: short message", 32);
    }
    got += r;
  }
  return true;
}

/** Write all of buf. */
export function writeFull(fd: number, buf: Uint8Array): void {
  let put = 0;
  while (put < buf.length) {
    const r = rawSyscall(SYS.write, fd, buf.subarray(put), buf.length - put);
    if (r === -EINTR) continue;
    if (r < 0) throw errnoError("write", -r);
    put += r;
  }
}

/** flock(2) with op LOCK_SH (1), LOCK_EX (2), optionally | LOCK_NB (4); false when LOCK_NB found it held. */
export function flock(fd: number, op: number): boolean {
  for (;;) {
    const r = rawSyscall(SYS.flock, fd, op);
    if (r === -EINTR) continue;
    if (r === -11 /* EWOULDBLOCK */ && op & 4) return false;
    if (r < 0) throw errnoError("flock", -r);
    return true;
  }
}
