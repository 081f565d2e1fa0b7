/**
 * The v2 OOM watch (src/cgroups/oom.ts) on a fake cgroup directory: inotify
 * reports IN_MODIFY for a regular file written as cgroupfs does for
 * memory.events and cgroup.events, so the counting and the end are checked
 * without a cgroup2 memory controller (this host's cgroup2 has none).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { silentOomNotifier, v1OomNotifier, v2OomNotifier } from "../../src/cgroups/oom";
import { waitReadable } from "../../src/linux/notify";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeCgroup(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "bunc-oom-"));
  dirs.push(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  return dir;
}
const memoryEvents = (kills: number) => `low 0\nhigh 0\nmax 3\noom ${kills}\noom_kill ${kills}\n`;

describe("v2OomNotifier", () => {
  test("an oom_kill increase is that many OOMs; other changes of memory.events are none; populated 0 ends the watch", () => {
    const dir = fakeCgroup({ "memory.events": memoryEvents(1), "cgroup.events": "populated 1\nfrozen 0\n" });
    const n = v2OomNotifier(dir);
    try {
      expect(n.ended()).toBe(false);
      expect(waitReadable(n.fd, 0)).toBe(false);
      // Kills before the watch began are not reported.
      writeFileSync(path.join(dir, "memory.events"), memoryEvents(3));
      expect(waitReadable(n.fd, 1000)).toBe(true);
      expect(n.read()).toEqual({ ooms: 2, done: false });
      writeFileSync(path.join(dir, "memory.events"), memoryEvents(3).replace("max 3", "max 4"));
      expect(waitReadable(n.fd, 1000)).toBe(true);
      expect(n.read()).toEqual({ ooms: 0, done: false });
      writeFileSync(path.join(dir, "cgroup.events"), "populated 1\nfrozen 1\n");
      expect(waitReadable(n.fd, 1000)).toBe(true);
      expect(n.read()).toEqual({ ooms: 0, done: false });
      writeFileSync(path.join(dir, "memory.events"), memoryEvents(4));
      writeFileSync(path.join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
      expect(waitReadable(n.fd, 1000)).toBe(true);
      expect(n.read()).toEqual({ ooms: 1, done: true });
    } finally {
      n.close();
    }
  });

  test("a cgroup already empty when the watch begins ends it at once", () => {
    const n = v2OomNotifier(fakeCgroup({ "memory.events": memoryEvents(0), "cgroup.events": "populated 0\nfrozen 0\n" }));
    expect(n.ended()).toBe(true);
    n.close();
  });

  test("without the memory controller (no memory.events) only the end is watched", () => {
    const dir = fakeCgroup({ "cgroup.events": "populated 1\nfrozen 0\n" });
    const n = v2OomNotifier(dir);
    try {
      writeFileSync(path.join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
      expect(waitReadable(n.fd, 1000)).toBe(true);
      expect(n.read()).toEqual({ ooms: 0, done: true });
    } finally {
      n.close();
    }
  });
});

describe("v1OomNotifier", () => {
  test("without the memory hierarchy: a clear error, as runc's \"memory controller missing\"", () => {
    expect(() => v1OomNotifier(undefined)).toThrow("the memory cgroup controller is not mounted");
  });
});

describe("silentOomNotifier (no OOM notifications to be had)", () => {
  test("never readable, reports no OOM, ends when told", () => {
    let over = false;
    const n = silentOomNotifier(() => over);
    try {
      expect(waitReadable(n.fd, 20)).toBe(false);
      expect(n.ended()).toBe(false);
      over = true;
      expect(n.ended()).toBe(true);
      expect(n.read()).toEqual({ ooms: 0, done: true });
    } finally {
      n.close();
    }
  });
});
