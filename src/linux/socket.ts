/** AF_UNIX sockets the parent needs: connecting to a console socket (unix(7)). */
import { closeSync } from "node:fs";
import { cstr, errnoError, rawSyscall } from "./libc";

const SYS_socket = 41;
const SYS_connect = 42;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

/** A stream socket connected to the unix socket at path. */
export function connectUnix(path: string, what = "console socket"): number {
  const name = cstr(path);
  if (name.length > 108) throw errnoError(`connect to ${path}`, 36 /* ENAMETOOLONG */);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  const fd = rawSyscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw errnoError("socket", -fd);
  const r = rawSyscall(SYS_connect, fd, addr, 2 + name.length);
  if (r < 0) {
    closeSync(fd);
    throw errnoError(`connect to ${what} ${path}`, -r);
  }
  return fd;
}
