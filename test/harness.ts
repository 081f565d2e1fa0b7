/**
 * Shared test helpers: the compiled binary, busybox bundles in temp dirs,
 * and a state root per test file that is cleaned up afterwards (every
 * container force-deleted, then the dirs removed).
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { makeBundle } from "../scripts/rootfs";

export const REPO = path.resolve(import.meta.dir, "..");
export const BUNC = path.join(REPO, "dist/bunc");
export const RUNC = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));

/** Why integration tests cannot run here, or undefined when they can. */
export function integrationSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "integration tests need root";
  if (!existsSync(BUNC)) return `${BUNC} is missing: run bun scripts/build.ts first`;
  if (!existsSync("/bin/busybox")) return "busybox-static is not installed";
  return undefined;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let outputs = 0;

/**
 * Run a command to completion. Its stdout and stderr go to files, not pipes:
 * a container started by create or run -d inherits them and may hold them
 * open long after the command has returned.
 */
export function sh(cmd: string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Result {
  const base = path.join(tmpdir(), `bunc-test-out-${process.pid}-${++outputs}`);
  const out = openSync(`${base}.out`, "w+");
  const err = openSync(`${base}.err`, "w+");
  try {
    const p = Bun.spawnSync(cmd, {
      cwd: opts.cwd,
      env: opts.env ?? (process.env as Record<string, string>),
      stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
      stdout: out,
      stderr: err,
      timeout: opts.timeoutMs ?? 30_000,
      // A command past its time is killed outright: runc run forwards SIGTERM to its container and can wait forever.
      killSignal: "SIGKILL",
    });
    return { code: p.exitCode ?? 128 + 9, stdout: readFileSync(`${base}.out`, "utf8"), stderr: readFileSync(`${base}.err`, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(`${base}.out`, { force: true });
    rmSync(`${base}.err`, { force: true });
  }
}

type Config = Record<string, any>;

/** The sandboxes of this test process whose dirs exist (the leak checker, test/leak-check.ts, reads their --root dirs). */
export const sandboxes = new Set<Sandbox>();
/**
 * cgroup directories whose trees the leak checker (test/leak-check.ts) leaves to their owner:
 * a booted systemd's (test/integration/systemd-boot.ts) keeps the slices it made across tests,
 * and its test checks that nothing is left once it stops.
 */
export const leakCheckSkips = new Set<string>();
/** The prefix of this process's sandbox dirs: the pid tells the leak checker and a person which test run made one. */
export const SANDBOX_PREFIX = path.join(tmpdir(), `bunc-test-${process.pid}-`);

/**
 * A temp --root and bundles for one test file; cleanup() leaves nothing behind.
 * The dir is made on first use: bun runs the body of a skipped describe (where
 * most sandboxes are made) but never its afterAll, which left an empty dir in
 * /tmp for every skipped describe.
 */
export class Sandbox {
  private made?: string;
  private ids = new Set<string>();
  private n = 0;

  get dir(): string {
    if (!this.made) {
      this.made = mkdtempSync(SANDBOX_PREFIX);
      sandboxes.add(this);
    }
    return this.made;
  }

  /** bunc's --root (made by bunc on first use). */
  get root(): string {
    return path.join(this.dir, "state");
  }

  /** runc's --root. */
  get runcRoot(): string {
    return path.join(this.dir, "runc-state");
  }

  /** A fresh id, deleted at cleanup. */
  id(prefix = "c"): string {
    const id = `${prefix}-${process.pid}-${++this.n}`;
    this.ids.add(id);
    return id;
  }

  /** A busybox bundle running args; edit changes its config.json. */
  bundle(args: string[] = ["true"], edit?: (config: Config) => void): string {
    const dir = path.join(this.dir, `bundle-${++this.n}`);
    makeBundle(dir, args);
    if (edit) {
      const file = path.join(dir, "config.json");
      const config = JSON.parse(readFileSync(file, "utf8"));
      edit(config);
      writeFileSync(file, JSON.stringify(config, null, 2));
    }
    return dir;
  }

  /** Run dist/bunc with --root set to this sandbox's root. */
  bunc(args: string[], opts: { cwd?: string; stdin?: string; timeoutMs?: number } = {}): Result {
    return sh([BUNC, "--root", this.root, ...args], opts);
  }

  /** Run runc with its own root in this sandbox. */
  runc(args: string[], opts: { cwd?: string; stdin?: string; timeoutMs?: number } = {}): Result {
    if (!RUNC) throw new Error("runc is not installed");
    return sh([RUNC, "--root", this.runcRoot, ...args], opts);
  }

  /** Parsed `bunc state ID`. */
  state(id: string): Config {
    const r = this.bunc(["state", id]);
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  cleanup(): void {
    if (!this.made) return;
    // Only the containers still there: a delete -f of each id a file ever made (hundreds, most
    // deleted by their tests or the leak checker) outlasted the hook's 60 s under load.
    for (const id of this.ids) {
      if (existsSync(path.join(this.root, id))) this.bunc(["delete", "-f", id]);
      if (RUNC && existsSync(path.join(this.runcRoot, id))) this.runc(["delete", "-f", id]);
    }
    // runc 1.1.5 killed in the middle of a create (a test's timeout: a profile that KILLs a thread
    // of its Go init hangs it) leaves its init, with threads still blocked, in a cgroup of every
    // hierarchy, and no state to delete it by. Kill what is in the cgroups named by our ids (the
    // init is then reaped by PID 1) and remove them.
    const dirs = cgroupHierarchies().flatMap((h) => [...this.ids].map((id) => path.join("/sys/fs/cgroup", h, id))).filter((d) => existsSync(d));
    for (const d of dirs)
      for (const pid of readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean))
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
    for (const d of dirs)
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(d);
          break;
        } catch {
          Bun.sleepSync(10); // the killed init is not reaped yet
        }
      }
    rmSync(this.made, { recursive: true, force: true });
    this.made = undefined;
    sandboxes.delete(this);
  }
}

/**
 * The cgroup hierarchies mounted under /sys/fs/cgroup (each v1 controller, name=systemd, the
 * cgroup2 one): its mount points, not whatever directories stand on its tmpfs — podman's
 * cgroupfs manager leaves plain ones there for controllers this host does not mount.
 */
export function cgroupHierarchies(): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint && /^\/sys\/fs\/cgroup\/[^/]+$/.test(mountPoint)) out.push(mountPoint.slice("/sys/fs/cgroup/".length));
  }
  return [...new Set(out)].sort();
}
