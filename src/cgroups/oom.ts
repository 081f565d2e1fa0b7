/**
 * OOM notifications from the kernel, as runc's NotifyOOM (libcontainer
 * notify_linux.go, notify_v2_linux.go), for `events`:
 * - v1: an eventfd registered with memory.oom_control through
 *   cgroup.event_control (cgroup-v1/memory.rst "OOM Control"). The kernel
 *   signals it on each OOM in the cgroup and once more when the cgroup is
 *   removed; cgroup.event_control being gone tells the two apart. The watch
 *   ends with the cgroup (runc's events runs until the container is deleted).
 * - v2: inotify on memory.events (an oom_kill increase is an OOM kill) and
 *   on cgroup.events (populated 0: every process has left, the watch ends),
 *   as cgroupfs sends IN_MODIFY for these files (cgroup-v2.rst).
 */
import { closeSync, existsSync, openSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { eventfd, IN_MODIFY, inotifyAddWatch, inotifyInit, readEventfd, readInotify } from "../linux/notify";
import { keyValues, readCgroupFile, writeCgroupFile } from "./fsio";

export interface OomNotifier {
  /** Readable when read() has something to say. */
  readonly fd: number;
  /** Whether the watch is over without waiting (v2: the cgroup was already empty). */
  ended(): boolean;
  /** After fd became readable: the OOM kills since the last call, and whether the watch is over. */
  read(): { ooms: number; done: boolean };
  close(): void;
}

/** v1: memoryDir is the container's directory in the memory hierarchy. */
export function v1OomNotifier(memoryDir: string | undefined): OomNotifier {
  if (!memoryDir) throw new BuncError("events: the memory cgroup controller is not mounted (OOM notifications need it)", { code: "ENOTSUP" });
  const control = path.join(memoryDir, "cgroup.event_control");
  const efd = eventfd();
  let oomControl: number | undefined;
  try {
    oomControl = openSync(path.join(memoryDir, "memory.oom_control"), "r");
    // "<event_fd> <fd of memory.oom_control>" (memory.rst, "OOM Control").
    writeCgroupFile(control, `${efd} ${oomControl}`);
  } catch (e) {
    closeSync(efd);
    if (oomControl !== undefined) closeSync(oomControl);
    throw e instanceof BuncError ? e : new BuncError(`events: ${(e as Error).message}`, { code: "CGROUP", cause: e });
  }
  return {
    fd: efd,
    ended: () => false,
    read() {
      readEventfd(efd);
      // The removal of the cgroup signals the eventfd too (runc tells them apart the same way).
      if (!existsSync(control)) return { ooms: 0, done: true };
      return { ooms: 1, done: false };
    },
    close() {
      closeSync(efd);
      closeSync(oomControl!);
    },
  };
}

/** v2: dir is the container's cgroup. Without the memory controller there is no memory.events and only the end is watched. */
export function v2OomNotifier(dir: string): OomNotifier {
  const fd = inotifyInit();
  const memoryEvents = path.join(dir, "memory.events");
  const cgroupEvents = path.join(dir, "cgroup.events");
  const oomKills = () => keyValues(readCgroupFile(memoryEvents)).get("oom_kill") ?? 0n;
  const populated = () => keyValues(readCgroupFile(cgroupEvents)).get("populated");
  let memoryWd = -1;
  let cgroupWd: number;
  let seen: bigint;
  try {
    if (existsSync(memoryEvents)) memoryWd = inotifyAddWatch(fd, memoryEvents, IN_MODIFY);
    cgroupWd = inotifyAddWatch(fd, cgroupEvents, IN_MODIFY);
    seen = oomKills();
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  // Watches are in place: a container that emptied before them is seen now rather than never.
  let over = populated() !== 1n;
  return {
    fd,
    ended: () => over,
    read() {
      let ooms = 0;
      for (const ev of readInotify(fd)) {
        if ((ev.mask & IN_MODIFY) === 0) continue;
        if (ev.wd === memoryWd) {
          const now = oomKills();
          if (now > seen) ooms += Number(now - seen);
          seen = now > seen ? now : seen;
        } else if (ev.wd === cgroupWd && populated() !== 1n) over = true;
      }
      return { ooms, done: over };
    },
    close() {
      closeSync(fd);
    },
  };
}

/**
 * No OOM notifications (runc warns and goes on streaming stats when it cannot
 * get them, e.g. on a v1 host without the memory hierarchy): an eventfd
 * nobody signals, and the watch ends when over() says so.
 */
export function silentOomNotifier(over: () => boolean): OomNotifier {
  const fd = eventfd();
  return {
    fd,
    ended: over,
    read: () => ({ ooms: 0, done: over() }),
    close: () => closeSync(fd),
  };
}
