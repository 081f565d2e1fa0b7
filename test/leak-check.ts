/**
 * The leak checker (issue 14), preloaded by bunfig.toml for every test file
 * and active in test/integration only: before each test it takes a snapshot
 * of what a test may leave on the host, after it the containers the test left
 * in a sandbox's --root are force-deleted (a test may leave its containers
 * to the sandbox's cleanup) and a second snapshot must hold nothing the first
 * had not — else the test fails, naming each thing that leaked.
 *
 * Other test processes (other developers' runs, CI's other jobs) make
 * containers on the same host at the same time, so the snapshot holds only
 * what this process can be blamed for:
 * - mounts whose mount point, root or source is in one of this process's
 *   sandbox dirs (harness SANDBOX_PREFIX) or names this process's pid;
 * - cgroup directories whose name carries the pid (the harness's ids do:
 *   `PREFIX-PID-N`), in every hierarchy's root, this process's own cgroup
 *   and its parent (where bunc makes them, harness cgroupParents) and one
 *   level down in the parents that tests share (`bunc…` without a number),
 *   with all below them, and the processes in them;
 * - the processes descended from this one (a stray child, a zombie);
 * - this process's own open fds;
 * - the containers in the sandboxes' --root dirs (bunc's and runc's) and the
 *   files in /tmp whose name starts with "bunc" and carries the pid.
 *
 * BUNC_LEAK_CHECK=0 turns it off (to measure what it costs); BUNC_LEAK_DEBUG=1
 * prints each delete -f it runs.
 */
import { afterAll, afterEach, beforeEach } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { BUNC, cgroupHierarchies, leakCheckSkips, RUNC, SANDBOX_PREFIX, sandboxes, sh } from "./harness";

const PID = process.pid;
const MARK = new RegExp(`(^|[^0-9])${PID}([^0-9]|$)`);
const ours = (s: string) => s.includes(SANDBOX_PREFIX) || MARK.test(s);
const enabled = process.env.BUNC_LEAK_CHECK !== "0" && process.getuid?.() === 0;
const inIntegration = () => Bun.main.includes("/test/integration/");

function readdir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // Gone, or never there: nothing of ours in it.
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Mount points (with type and source) that name our dirs or pid. */
function mounts(out: Set<string>): void {
  for (const line of read("/proc/self/mountinfo").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-");
    const [root, mountPoint, type, source] = [f[3]!, f[4]!, f[sep + 1]!, f[sep + 2]!];
    if (ours(root) || ours(mountPoint) || ours(source)) out.add(`mount ${mountPoint} (${type} from ${source}${root === "/" ? "" : ` ${root}`})`);
  }
}

let parents: string[] | undefined;
/** Where bunc makes a container's cgroup: each hierarchy's root, this process's own cgroup there and its parent (as cli-helpers cgroupParents). */
function cgroupParents(): string[] {
  if (parents) return parents;
  const own: string[] = [];
  const hierarchies = cgroupHierarchies().map((h) => path.join("/sys/fs/cgroup", h));
  for (const line of read("/proc/self/cgroup").split("\n").filter(Boolean)) {
    const [, controllers, dir] = line.split(/:(.*):/s) as [string, string, string];
    const names = controllers === "" ? ["unified"] : [controllers, ...controllers.split(",")].map((c) => c.replace(/^name=/, ""));
    const mount = names.map((n) => path.join("/sys/fs/cgroup", n)).find((d) => hierarchies.includes(d));
    if (mount && dir !== "/") own.push(path.join(mount, dir), path.dirname(path.join(mount, dir)));
  }
  // /sys/fs/cgroup itself: a container's cgroup made on its tmpfs (a controller not mounted) is a leak too.
  return (parents = [...new Set(["/sys/fs/cgroup", ...hierarchies, ...own])]);
}

/** The directories in dir (none if it is gone). */
function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** A cgroup dir of ours, every dir below it, and the processes in each. */
function walkCgroup(dir: string, out: Set<string>): void {
  if (leakCheckSkips.has(dir)) return;
  out.add(`cgroup ${dir}`);
  for (const p of read(path.join(dir, "cgroup.procs")).split("\n").filter(Boolean)) out.add(`process ${p} in cgroup ${dir}`);
  for (const name of subdirs(dir)) walkCgroup(path.join(dir, name), out);
}

function cgroups(out: Set<string>): void {
  for (const parent of cgroupParents())
    for (const name of subdirs(parent)) {
      const dir = path.join(parent, name);
      if (ours(name)) walkCgroup(dir, out);
      // A parent tests share (bunc-fuzz): its children may be ours. Others' (with a pid, bunc-cg-x-PID-N) are not looked into.
      else if (name.startsWith("bunc") && !/\d/.test(name)) for (const inner of subdirs(dir)) if (ours(inner)) walkCgroup(path.join(dir, inner), out);
    }
}

let lastPid = 0;
let known = new Set<number>();
/**
 * The processes descended from this one, zombies marked. A read of /proc/PID/stat costs
 * 60 µs or more here: only the processes made since the last look (pids above the last one
 * allocated then, /proc/loadavg's last field) and the descendants known then are read —
 * every process when the pids wrapped around.
 */
function descendants(out: Set<string>): void {
  const last = Number(read("/proc/loadavg").trim().split(" ").pop());
  const all = !(last >= lastPid) || lastPid === 0;
  const since = lastPid;
  lastPid = last;
  const procs = new Map<number, { ppid: number; state: string }>();
  for (const name of readdir("/proc")) {
    const pid = Number(name);
    if (!(pid > 0) || !(all || pid > since || known.has(pid))) continue;
    const stat = read(`/proc/${pid}/stat`);
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const [state, ppid] = stat.slice(close + 2).split(" ");
    procs.set(pid, { ppid: Number(ppid), state: state! });
  }
  const ours = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of procs)
      if (!ours.has(pid) && (p.ppid === PID || ours.has(p.ppid))) {
        ours.add(pid);
        grew = true;
      }
  }
  for (const pid of ours) {
    const p = procs.get(pid)!;
    out.add(p.state === "Z" ? `zombie ${pid}, a child not reaped` : `process ${pid}, a child of the test runner`);
  }
  known = ours;
}

function fds(out: Set<string>): void {
  for (const fd of readdir("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // readdir's own fd, closed by now.
    }
    out.add(`fd ${fd} → ${target}`);
  }
}

/** Containers in a sandbox's --root (bunc's and runc's). */
function containers(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const sb of sandboxes) {
    out.set(sb.root, readdir(sb.root));
    if (RUNC) out.set(sb.runcRoot, readdir(sb.runcRoot));
  }
  return out;
}

/** Files in /tmp of ours, the sandboxes' own dirs left out: they live as long as their test file (made on first use, removed by its afterAll). */
function files(out: Set<string>): void {
  const live = new Set([...sandboxes].map((sb) => sb.dir));
  for (const name of readdir(tmpdir())) {
    const file = path.join(tmpdir(), name);
    if (name.startsWith("bunc") && ours(name) && !live.has(file)) out.add(`file ${file}`);
  }
}

function snapshot(): Set<string> {
  const out = new Set<string>();
  mounts(out);
  cgroups(out);
  descendants(out);
  fds(out);
  files(out);
  for (const [root, ids] of containers()) for (const id of ids) out.add(`container ${path.join(root, id)}`);
  return out;
}

/** What after has that before had not. (A process's name is not in the key: it changes at execve.) */
function leaked(before: Set<string>): string[] {
  return [...snapshot()].filter((l) => !before.has(l));
}

/** A leak's line, a process with its name and command line. */
function described(line: string): string {
  const pid = /^(?:process|zombie) (\d+)/.exec(line)?.[1];
  if (!pid) return line;
  const argv = read(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).join(" ");
  return `${line} (${read(`/proc/${pid}/comm`).trim()}${argv ? `: ${argv}` : ""})`;
}

if (enabled) {
  // Bun makes its event loops' epoll and eventfd on first use (the first await, the first spawnSync
  // with a timeout): before the first snapshot, not in some test.
  await Bun.sleep(1);
  Bun.spawnSync(["true"], { timeout: 10_000 });
  let before: Set<string> | undefined;
  let beforeContainers = new Map<string, string[]>();

  let checks = 0;
  let spentMs = 0;
  let hooksMs = 0;

  beforeEach(() => {
    if (!inIntegration()) return;
    const t = performance.now();
    before = snapshot();
    beforeContainers = containers();
    spentMs += performance.now() - t;
    checks++;
  });

  afterEach(async () => {
    if (!before) return;
    const started = performance.now();
    const was = before;
    before = undefined;
    // The containers the test left go as the sandbox's cleanup would remove them; what delete -f leaves is a leak.
    for (const [root, ids] of containers()) {
      const old = new Set(beforeContainers.get(root) ?? []);
      const runc = RUNC && root.endsWith("/runc-state");
      for (const id of ids.filter((i) => !old.has(i))) {
        const t0 = performance.now();
        const r = sh([runc ? RUNC! : BUNC, "--root", root, "delete", "-f", id], { timeoutMs: 10_000 });
        if (process.env.BUNC_LEAK_DEBUG) console.log(`leak checker: delete -f ${root} ${id}: exit ${r.code} in ${Math.round(performance.now() - t0)} ms ${r.stderr.trim()}`);
      }
    }
    // A process killed a moment ago is still a zombie until it is reaped, a cgroup still busy until its last process is gone.
    const t = performance.now();
    let left = leaked(was);
    spentMs += performance.now() - t;
    for (const end = Date.now() + 3000; left.length > 0 && Date.now() < end; left = leaked(was)) await Bun.sleep(20);
    hooksMs += performance.now() - started;
    if (left.length > 0) throw new Error(`the test leaked (test/leak-check.ts):\n  ${left.map(described).join("\n  ")}`);
  });

  // Sandboxes are made per file and cleaned by its afterAll: at the end, none may be left.
  afterAll(() => {
    if (checks > 0)
      console.log(`leak checker: ${checks} tests checked, ${Math.round(spentMs)} ms in its snapshots (${(spentMs / checks).toFixed(1)} ms a test), ${Math.round(hooksMs)} ms in its afterEach with the deletes and waits`);
    const dirs = readdir(tmpdir())
      .map((n) => path.join(tmpdir(), n))
      .filter((d) => d.startsWith(SANDBOX_PREFIX));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (dirs.length > 0) throw new Error(`sandbox dirs not cleaned up by their test file (removed now): ${dirs.join(", ")}`);
  });
}
