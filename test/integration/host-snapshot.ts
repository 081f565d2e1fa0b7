/**
 * What a test may leave on the host, as a snapshot to compare before and
 * after: the mount table, every cgroup directory in every hierarchy, and the
 * live processes that belong to a sandbox (their root or cwd inside it, or a
 * cgroup naming one of its ids), zombies of this process included. A diff
 * that is not empty is a leak.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
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

/**
 * Processes left by a sandbox: root or cwd under `dir`, or a cgroup path
 * containing `idPrefix`; and zombies whose parent is this test process.
 */
export function strayProcesses(dir: string, idPrefix: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // A dead container process is a zombie until its parent reaps it: create's child is
      // reparented to the nearest subreaper (PID 1 here), which reaps it in its own time —
      // a leak only when that parent is this test process, which should have waited.
      if (state === "Z") {
        if (Number(ppid) === process.pid) out.push(`zombie ${pid} (${comm})`);
        continue;
      }
      const inside = (link: string) => {
        try {
          const target = readlinkSync(`/proc/${pid}/${link}`);
          return target === dir || target.startsWith(`${dir}/`);
        } catch {
          return false;
        }
      };
      if (inside("root") || inside("cwd") || readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(idPrefix)) out.push(`process ${pid} (${comm})`);
    } catch {
      // Gone while looking.
    }
  }
  return out;
}
