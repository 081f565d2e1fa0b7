/**
 * Kernel notifications the parent waits on: eventfd(2) (cgroup v1 memory
 * events are delivered through one, cgroup-v1/memory.rst "Memory thresholds"),
 * inotify(7) (cgroup v2 files such as memory.events report changes as
 * IN_MODIFY, cgroup-v2.rst "Core Interface Files"), and poll(2) to wait on
 * either with a timeout.
 */
import { errnoError, rawSyscall, syscall } from "./libc";

const SYS_poll = 7;
const SYS_inotify_add_watch = 254;
const SYS_eventfd2 = 290;
const SYS_inotify_init1 = 294;
const SYS_read = 0;

/** O_CLOEXEC, which EFD_CLOEXEC and IN_CLOEXEC equal: a container process must never inherit these. */
const CLOEXEC = 0o2000000;
export const IN_MODIFY = 0x2;
const POLLIN = 0x1;
const EINTR = 4;
const EAGAIN = 11;

/** A new eventfd (counter 0, close-on-exec). */
export function eventfd(): number {
  return syscall("eventfd2", SYS_eventfd2, 0, CLOEXEC);
}

/** Read an eventfd's counter (and reset it); blocks until it is non-zero. */
export function readEventfd(fd: number): bigint {
  const buf = new BigUint64Array(1);
  for (;;) {
    const r = rawSyscall(SYS_read, fd, buf, 8);
    if (r === 8) return buf[0]!;
    if (r !== -EINTR) throw errnoError("read eventfd", r < 0 ? -r : 5 /* EIO: a short read */);
  }
}

/** A new inotify instance (close-on-exec). */
export function inotifyInit(): number {
  return syscall("inotify_init1", SYS_inotify_init1, CLOEXEC);
}

/** Watch file for mask; returns the watch descriptor. */
export function inotifyAddWatch(fd: number, file: string, mask: number): number {
  return syscall(`inotify_add_watch ${file}`, SYS_inotify_add_watch, fd, new TextEncoder().encode(file + "\0"), mask);
}

export interface InotifyEvent {
  wd: number;
  mask: number;
}

/** The events queued on an inotify fd (blocks until there is one); struct inotify_event in inotify(7). */
export function readInotify(fd: number): InotifyEvent[] {
  const buf = new Uint8Array(4096);
  let n: number;
  do n = rawSyscall(SYS_read, fd, buf, buf.length);
  while (n === -EINTR);
  if (n === -EAGAIN) return [];
  if (n < 0) throw errnoError("read inotify", -n);
  const view = new DataView(buf.buffer);
  const events: InotifyEvent[] = [];
  // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
  for (let off = 0; off + 16 <= n; off += 16 + view.getUint32(off + 12, true))
    events.push({ wd: view.getInt32(off, true), mask: view.getUint32(off + 4, true) });
  return events;
}

/** Wait up to timeoutMs (-1: for ever) for fd to be readable; true if it is. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  const pfd = new Int32Array([fd, POLLIN]);
  const r = rawSyscall(SYS_poll, pfd, 1, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
  if (r === -EINTR) return false;
  if (r < 0) throw errnoError("poll", -r);
  return r > 0;
}
