/**
 * Helpers for the cli-*.test.ts integration tests: leftover detection
 * (state dir, cgroup dirs, processes, mounts), spawning bunc with extra fds,
 * waiting for a status, and checks of runc's output formats.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { expect } from "bun:test";
import { BUNC, cgroupHierarchies, type Result, type Sandbox } from "../harness";

export const CGROUP_ROOT = "/sys/fs/cgroup";

/** The directory of each cgroup hierarchy this process is in, joined with its own cgroup path there. */
export function ownCgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n").filter(Boolean)) {
    const [, controllers, own] = line.split(/:(.*):/s) as [string, string, string];
    const names = controllers === "" ? ["unified"] : [controllers, ...controllers.split(",")].map((c) => c.replace(/^name=/, ""));
    const mount = names.map((n) => path.join(CGROUP_ROOT, n)).find((d) => existsSync(d));
    if (mount) dirs.push(path.join(mount, own));
  }
  return dirs;
}

/** Every hierarchy mounted under /sys/fs/cgroup (v1 controllers, name=systemd, unified). */
export function hierarchyDirs(): string[] {
  return cgroupHierarchies().map((name) => path.join(CGROUP_ROOT, name));
}

/** Directories where bunc might make a container's cgroup: each hierarchy's root, this process's own cgroup in it and its parent. */
export function cgroupParents(): string[] {
  const own = ownCgroupDirs();
  return [...new Set([CGROUP_ROOT, ...hierarchyDirs(), ...own, ...own.map((d) => path.dirname(d))])];
}

/** Existing cgroup directories for the container id (the default cgroupsPath is the id). */
export function cgroupDirsOf(id: string): string[] {
  const out: string[] = [];
  for (const parent of cgroupParents()) {
    const dir = path.join(parent, id);
    if (path.relative(parent, dir).startsWith("..") || dir === parent) continue;
    if (existsSync(dir)) out.push(dir);
  }
  return out;
}

/** Entries whose name contains token in the cgroup parents (for ids that path.join would mangle). */
export function cgroupEntriesContaining(token: string): string[] {
  const out: string[] = [];
  for (const parent of cgroupParents()) {
    try {
      for (const name of readdirSync(parent)) if (name.includes(token)) out.push(path.join(parent, name));
    } catch {
      // A hierarchy that cannot be read has nothing of ours.
    }
  }
  return out;
}

function sameFile(a: string, b: { dev: number; ino: number }): boolean {
  try {
    const s = statSync(a);
    return s.dev === b.dev && s.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * Processes that belong to the container: their root or cwd is the bundle's
 * rootfs (after pivot_root readlink of /proc/PID/root says "/", so compare
 * device and inode), or their command line names the id as one argument
 * (the executor is a clone of bunc and keeps bunc's argv until execve).
 */
export function processesOf(opts: { id?: string; rootfs?: string }): string[] {
  const root = opts.rootfs && existsSync(opts.rootfs) ? statSync(opts.rootfs) : undefined;
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // Gone meanwhile.
    }
    const why: string[] = [];
    if (root && sameFile(`/proc/${pid}/root`, root)) why.push("root is the rootfs");
    if (root && sameFile(`/proc/${pid}/cwd`, root)) why.push("cwd is the rootfs");
    if (opts.id && argv.includes(opts.id)) why.push("argv names the id");
    if (why.length) out.push(`pid ${pid} (${argv.filter(Boolean).join(" ")}): ${why.join(", ")}`);
  }
  return out;
}

/** Mounts of this mount namespace whose source or target is under dir. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.includes(dir));
}

/**
 * Everything a container id with bundle may have left behind: its state
 * dir, its cgroup dirs, its processes and mounts. [] when clean.
 */
export function leftovers(sb: Sandbox, id: string, bundle?: string): string[] {
  const out: string[] = [];
  const stateDir = path.join(sb.root, id);
  if (!path.relative(sb.root, stateDir).startsWith("..") && stateDir !== sb.root && existsSync(stateDir)) out.push(`state dir ${stateDir}`);
  for (const dir of cgroupDirsOf(id)) out.push(`cgroup ${dir}`);
  const rootfs = bundle ? path.join(bundle, "rootfs") : undefined;
  out.push(...processesOf({ id, rootfs }));
  if (bundle) for (const m of mountsUnder(bundle)) out.push(`mount ${m}`);
  return out;
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}

/**
 * A failed command: non-zero exit (exactly `code` when given), nothing on
 * stdout, one line "bunc: …" on stderr. Returns that line.
 */
export function expectOneError(r: Result, code?: number): string {
  if (code === undefined) expect(r.code).not.toBe(0);
  else expect(r.code).toBe(code);
  const err = lines(r.stderr);
  expect(err).toHaveLength(1);
  expect(err[0]).toMatch(/^bunc: \S/);
  expect(r.stdout).toBe("");
  return err[0]!;
}

/** Poll `bunc state` until the status is one of want (or the time is up); returns the last state. */
export function waitStatus(sb: Sandbox, id: string, want: string | string[], timeoutMs = 5000): Record<string, any> {
  const wanted = [want].flat();
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = sb.bunc(["state", id]);
    const s = r.code === 0 ? JSON.parse(r.stdout) : { status: `<state failed: ${r.stderr.trim()}>` };
    if (wanted.includes(s.status) || Date.now() > end) return s;
    Bun.sleepSync(25);
  }
}

/** Wait until a file exists and has content matching re; returns the content ("" on timeout). */
export function waitFile(file: string, re: RegExp = /./, timeoutMs = 5000): string {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = readFileSync(file, "utf8");
      if (re.test(text)) return text;
    } catch {
      // Not yet.
    }
    if (Date.now() > end) return "";
    Bun.sleepSync(25);
  }
}

let spawned = 0;

/**
 * Run bunc with an extra open file as fd 3 (and stdout/stderr to files).
 * Returns the result; fd3File is whatever the caller chose to open as fd 3.
 */
export function buncWithFd3(sb: Sandbox, args: string[], fd3File: string, opts: { cwd?: string } = {}): Result {
  const base = path.join(tmpdir(), `bunc-cli-fd3-${process.pid}-${++spawned}`);
  const out = openSync(`${base}.out`, "w+");
  const err = openSync(`${base}.err`, "w+");
  const extra = openSync(fd3File, "a");
  try {
    const p = Bun.spawnSync({
      cmd: [BUNC, "--root", sb.root, ...args],
      cwd: opts.cwd,
      stdio: ["ignore", out, err, extra],
      timeout: 30_000,
    } as any);
    return { code: p.exitCode ?? 137, stdout: readFileSync(`${base}.out`, "utf8"), stderr: readFileSync(`${base}.err`, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    closeSync(extra);
    rmSync(`${base}.out`, { force: true });
    rmSync(`${base}.err`, { force: true });
  }
}

/** A bind mount of a host directory at /out in the container (read-write), for the container to report through. */
export function bindOut(hostDir: string) {
  return (config: Record<string, any>) => {
    config.mounts.push({ destination: "/out", type: "bind", source: hostDir, options: ["rbind", "rw"] });
  };
}

/**
 * The layout of Go's tabwriter as runc's list uses it (minwidth 12, padding 3,
 * last column unpadded): returns the problems found, [] when it matches.
 */
export function tabwriterProblems(text: string): string[] {
  const rows = text.split("\n");
  const problems: string[] = [];
  if (rows.pop() !== "") problems.push("no trailing newline");
  const cells = rows.map((r) => {
    const out: string[] = [];
    let rest = r;
    for (let col = 0; col < 5; col++) {
      const m = /^(\S+)( +)/.exec(rest);
      if (!m) return undefined;
      out.push(m[1]! + m[2]!);
      rest = rest.slice(m[0].length);
    }
    out.push(rest);
    return out;
  });
  if (cells.some((c) => c === undefined)) return [...problems, `a row does not have 6 columns: ${JSON.stringify(rows)}`];
  for (let col = 0; col < 5; col++) {
    const width = Math.max(12, ...cells.map((c) => c![col]!.trimEnd().length + 3));
    for (const [i, c] of cells.entries())
      if (c![col]!.length !== width) problems.push(`row ${i} column ${col} is ${c![col]!.length} wide, expected ${width}: ${JSON.stringify(rows[i])}`);
  }
  for (const [i, r] of rows.entries()) if (r.endsWith(" ")) problems.push(`row ${i} has trailing spaces`);
  return problems;
}

/** The key skeleton of an indented JSON text: each line with its value removed ("  \"pid\""). */
export function keySkeleton(jsonText: string): string[] {
  return jsonText.split("\n").map((l) => l.replace(/:\s.*$/, "").replace(/,$/, ""));
}

/** Read the process's /proc/PID/status field. */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const m = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Whether pid is a live (not zombie) process. */
export function alive(pid: number): boolean {
  const state = procStatus(pid, "State");
  return state !== undefined && !state.startsWith("Z") && !state.startsWith("X");
}
