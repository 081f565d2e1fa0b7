/**
 * What a test may leave on the host, as a snapshot to compare before and
 * after: the mount table and every cgroup directory in every hierarchy (the
 * processes of one container: processesOf in cli-helpers). A diff that is
 * not empty is a leak.
 */
import { readdirSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";

export interface HostSnapshot {
  mounts: Set<string>;
  cgroups: Set<string>;
}

/** Mount points with their type and source (mount ids change with every remount: left out). */
function mounts(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-");
    out.add(`${f[4]} ${f[sep + 1]} ${f[sep + 2]}`);
  }
  return out;
}

/** Every directory below /sys/fs/cgroup (each hierarchy, the cgroup2 one included). */
function cgroups(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while walking
    }
    for (const e of entries)
      if (e.isDirectory()) {
        out.add(path.join(dir, e.name));
        walk(path.join(dir, e.name));
      }
  };
  walk("/sys/fs/cgroup");
  return out;
}

export function snapshot(): HostSnapshot {
  return { mounts: mounts(), cgroups: cgroups() };
}

/** What `after` has that `before` had not (mounts, cgroup dirs), one line each. */
export function added(before: HostSnapshot, after: HostSnapshot = snapshot()): string[] {
  return [
    ...[...after.mounts].filter((m) => !before.mounts.has(m)).map((m) => `mount ${m}`),
    ...[...after.cgroups].filter((c) => !before.cgroups.has(c)).map((c) => `cgroup ${c}`),
  ];
}
