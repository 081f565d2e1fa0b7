/**
 * Shared setup of the client tests: podman, conmon and containerd from
 * Debian's packages (installed when missing), a local busybox image (no
 * registry), a private podman (its own containers.conf, storage and network
 * config in a temp dir) and a private containerd daemon, and the side-by-side
 * table of what each scenario did with bunc and with runc.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { makeBundle } from "../../scripts/rootfs";
import { BUNC, integrationSkipReason, RUNC, sh, type Result } from "../harness";

export { BUNC, RUNC, sh, type Result };
export const IMAGE = "localhost/busybox:latest";
export type Runtime = "bunc" | "runc";
export const RUNTIMES: Runtime[] = ["bunc", "runc"];

const PACKAGES: Record<string, string> = { podman: "podman", conmon: "conmon", containerd: "containerd", ctr: "containerd", script: "bsdutils" };

function which(cmd: string): string | undefined {
  return Bun.which(cmd, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }) ?? undefined;
}

/** Install what is missing of the given commands from Debian's packages; why not, when that fails. */
export function ensureCommands(cmds: string[]): string | undefined {
  const base = integrationSkipReason();
  if (base) return base;
  if (!RUNC) return "runc is not installed (the reference runtime)";
  const missing = [...new Set(cmds.filter((c) => !which(c)).map((c) => PACKAGES[c] ?? c))];
  if (missing.length === 0) return undefined;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" } as Record<string, string>;
  let r = sh(["apt-get", "install", "-y", "-qq", ...missing], { env, timeoutMs: 600_000 });
  if (r.code !== 0) {
    sh(["apt-get", "update", "-qq"], { env, timeoutMs: 300_000 });
    r = sh(["apt-get", "install", "-y", "-qq", ...missing], { env, timeoutMs: 600_000 });
  }
  const still = cmds.filter((c) => !which(c));
  return still.length ? `cannot install ${still.join(", ")} (apt-get install ${missing.join(" ")}: ${r.stderr.trim().split("\n").pop()})` : undefined;
}

/** A busybox root filesystem as a tar stream file, for `podman import`. */
function rootfsTar(dir: string): string {
  makeBundle(dir);
  const tar = path.join(dir, "rootfs.tar");
  const r = sh(["tar", "-C", path.join(dir, "rootfs"), "-cf", tar, "."]);
  if (r.code !== 0) throw new Error(`tar of the rootfs failed: ${r.stderr}`);
  return tar;
}

/** Unmount whatever is still mounted below dir (deepest first), so it can be removed. */
function unmountBelow(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m === dir || m.startsWith(dir + "/"));
  for (const m of mounts.sort((a, b) => b.length - a.length)) sh(["umount", "-l", m]);
}

/** A private podman: its own containers.conf, storage, run root and network config. */
export class Podman {
  readonly dir = mkdtempSync(path.join(tmpdir(), "bunc-podman-"));
  readonly conf = path.join(this.dir, "containers.conf");

  /** runtimes: name → path for containers.conf (default bunc and runc; the benchmark adds crun and its trace wrappers). */
  constructor(runtimes?: Record<string, string>) {
    this.setRuntimes(runtimes);
  }

  /** (Re)write containers.conf with these runtimes; podman reads it at each command. */
  setRuntimes(runtimes?: Record<string, string>): void {
    writeFileSync(this.conf, containersConf(this.dir, `${this.dir}/networks`, runtimes));
  }

  /** Run podman with the given runtime (or none, for image commands). */
  run(runtime: Runtime | string | undefined, args: string[], opts: { timeoutMs?: number } = {}): Result {
    const env = { ...process.env, CONTAINERS_CONF: this.conf } as Record<string, string>;
    const global = ["--root", path.join(this.dir, "storage"), "--runroot", path.join(this.dir, "run"), "--tmpdir", path.join(this.dir, "tmp")];
    // cwd: conmon leaves an "oom" file in its working directory after an OOM kill.
    return sh(["podman", ...global, ...(runtime ? ["--runtime", runtime] : []), ...args], { env, cwd: this.dir, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** Import the busybox rootfs as localhost/busybox. */
  importImage(): void {
    const tar = rootfsTar(path.join(this.dir, "bundle"));
    const env = { ...process.env, CONTAINERS_CONF: this.conf } as Record<string, string>;
    const global = ["--root", path.join(this.dir, "storage"), "--runroot", path.join(this.dir, "run"), "--tmpdir", path.join(this.dir, "tmp")];
    const r = sh(["podman", ...global, "import", tar, IMAGE], { env, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`podman import failed: ${r.stderr}`);
  }

  /** An OCI archive of the image, for ctr images import. */
  saveImage(file: string): void {
    const r = this.run(undefined, ["save", "--format", "oci-archive", "-o", file, IMAGE], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`podman save failed: ${r.stderr}`);
  }

  /** /sys/fs/cgroup's entries before podman ran (see cleanup). */
  private readonly cgroupEntries = new Set(readdirSync("/sys/fs/cgroup"));

  /**
   * Remove every container and image, the storage and the temp dir — and the plain
   * directories podman's cgroupfs manager makes on this hybrid host's /sys/fs/cgroup
   * tmpfs for controllers that are not mounted there (hugetlb, net_cls, net_prio,
   * perf_event, each holding libpod_parent/conmon): other tests would take them for
   * cgroup hierarchies.
   */
  cleanup(): void {
    this.run(undefined, ["rm", "-af", "-t", "0"]);
    this.run(undefined, ["system", "reset", "-f"], { timeoutMs: 120_000 });
    unmountBelow(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    for (const entry of readdirSync("/sys/fs/cgroup")) {
      const dir = path.join("/sys/fs/cgroup", entry);
      if (!this.cgroupEntries.has(entry) && sh(["mountpoint", "-q", dir]).code !== 0) rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** A private containerd daemon (own root, state and sockets in a temp dir), started and stopped by the tests. */
export class Containerd {
  readonly dir = mkdtempSync(path.join(tmpdir(), "bunc-containerd-"));
  readonly address = path.join(this.dir, "containerd.sock");
  readonly log = path.join(this.dir, "containerd.log");
  private daemon?: ReturnType<typeof Bun.spawn>;

  /** The daemon's pid (prefix commands exec it, so the same process). */
  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  /**
   * Start the daemon; with `cri` (the CRI plugin's config lines) its CRI plugin runs too, else it is
   * disabled. `prefix` runs it through a command that execs it (e.g. unshare --net: its own network namespace).
   */
  start(cri?: string[], prefix: string[] = []): void {
    const config = path.join(this.dir, "config.toml");
    writeFileSync(config, [
      "version = 2",
      `root = "${this.dir}/root"`,
      `state = "${this.dir}/state"`,
      ...(cri ? [] : ['disabled_plugins = ["io.containerd.grpc.v1.cri"]']),
      "[grpc]",
      `  address = "${this.address}"`,
      "[ttrpc]",
      `  address = "${this.address}.ttrpc"`,
      "[debug]",
      '  level = "debug"',
      ...(cri ?? []),
      "",
    ].join("\n"));
    this.daemon = Bun.spawn([...prefix, "containerd", "--config", config], { stdin: "ignore", stdout: Bun.file(this.log), stderr: Bun.file(this.log) });
    for (let i = 0; i < 100; i++) {
      if (existsSync(this.address) && this.ctr(["version"]).code === 0) return;
      Bun.sleepSync(100);
    }
    throw new Error(`containerd did not start: ${readFileSync(this.log, "utf8").split("\n").slice(-5).join("\n")}`);
  }

  ctr(args: string[], opts: { timeoutMs?: number } = {}): Result {
    return sh(["ctr", "--address", this.address, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** Delete every task and container, stop the daemon, remove its dirs. */
  stop(): void {
    const ids = this.ctr(["containers", "ls", "-q"]).stdout.split("\n").filter(Boolean);
    for (const id of ids) {
      this.ctr(["task", "kill", "-s", "SIGKILL", id]);
      this.ctr(["task", "delete", "-f", id]);
      this.ctr(["containers", "delete", id]);
    }
    this.ctr(["images", "rm", IMAGE]);
    if (this.daemon) {
      this.daemon.kill("SIGTERM");
      const deadline = Date.now() + 10_000;
      while (this.daemon.exitCode === null && this.daemon.signalCode === null && Date.now() < deadline) Bun.sleepSync(50);
      if (this.daemon.exitCode === null && this.daemon.signalCode === null) this.daemon.kill("SIGKILL");
    }
    unmountBelow(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One row of the side-by-side table. */
interface Row {
  scenario: string;
  outcome: Record<Runtime, string>;
}

/** Scenario outcomes per runtime, printed as a table at the end of a test file. */
export class Report {
  private rows: Row[] = [];
  constructor(readonly client: string) {}

  /** Record what a runtime did in a scenario ("pass: …", "FAIL: …", "skip: …"). */
  add(scenario: string, runtime: Runtime, outcome: string): void {
    let row = this.rows.find((r) => r.scenario === scenario);
    if (!row) this.rows.push((row = { scenario, outcome: { bunc: "-", runc: "-" } }));
    row.outcome[runtime] = outcome;
  }

  print(): void {
    if (this.rows.length === 0) return;
    const w = Math.max(...this.rows.map((r) => r.scenario.length), 8);
    const cell = (s: string) => (s.length > 60 ? s.slice(0, 57) + "..." : s).padEnd(60);
    const lines = [`${this.client}: ${"scenario".padEnd(w)} | ${cell("bunc")} | runc`];
    for (const r of this.rows) lines.push(`${this.client}: ${r.scenario.padEnd(w)} | ${cell(r.outcome.bunc)} | ${r.outcome.runc}`);
    console.log(lines.join("\n"));
  }
}

/**
 * Run a scenario with both runtimes. `fn` returns a short summary of what it
 * observed and throws when the scenario failed. bunc must pass; runc's outcome
 * is recorded beside it, and when both pass their summaries must agree.
 */
export async function sideBySide(report: Report, scenario: string, fn: (rt: Runtime) => string | Promise<string>): Promise<void> {
  const seen: Partial<Record<Runtime, { ok: boolean; text: string }>> = {};
  for (const rt of RUNTIMES) {
    try {
      const text = await fn(rt);
      seen[rt] = { ok: true, text };
      report.add(scenario, rt, `pass: ${text}`);
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      seen[rt] = { ok: false, text };
      report.add(scenario, rt, `FAIL: ${text.replace(/\s+/g, " ")}`);
    }
  }
  if (!seen.bunc!.ok) throw new Error(`${scenario} with bunc: ${seen.bunc!.text}`);
  if (seen.runc!.ok && seen.runc!.text !== seen.bunc!.text) throw new Error(`${scenario}: bunc saw ${JSON.stringify(seen.bunc!.text)}, runc ${JSON.stringify(seen.runc!.text)}`);
}

/** Throw with the command's output unless cond holds. */
export function check(cond: boolean, what: string, r?: Result): void {
  if (!cond) throw new Error(`${what}${r ? ` (exit ${r.code}; stdout ${JSON.stringify(r.stdout.trim().slice(0, 200))}; stderr ${JSON.stringify(r.stderr.trim().slice(0, 300))})` : ""}`);
}

/** What the podman scenarios need of a podman: run one of its commands with a runtime. */
export interface PodmanLike {
  run(runtime: Runtime | string | undefined, args: string[], opts?: { timeoutMs?: number }): Result;
}

/** podman's scenario "run -d + exec + logs + stop + rm", for root and rootless podman alike. */
export function detachedLifecycle(podman: PodmanLike, run: (rt: Runtime, args: string[]) => Result, rt: Runtime, image: string, name: string): string {
  const d = run(rt, ["-d", "--name", name, image, "sh", "-c", "trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 0.1; done"]);
  check(d.code === 0, "run -d", d);
  try {
    const e = podman.run(rt, ["exec", name, "sh", "-c", "echo in-exec; exit 4"]);
    check(e.code === 4 && e.stdout === "in-exec\n", "exec: want in-exec and exit 4", e);
    const s = podman.run(rt, ["stop", "-t", "10", name]);
    check(s.code === 0, "stop", s);
    const i = podman.run(rt, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]);
    check(i.stdout.trim() === "exited 0", "inspect after stop: want exited 0", i);
    const l = podman.run(rt, ["logs", name]);
    check(l.stdout === "started\nbye\n", "logs: want started, bye", l);
    const rm = podman.run(rt, ["rm", name]);
    check(rm.code === 0, "rm", rm);
    return "exec exit 4, logs started+bye, stop exited 0, rm ok";
  } finally {
    podman.run(rt, ["rm", "-f", "-t", "0", name]);
  }
}

/** podman's scenario "run -t": conmon's console socket gives the container /dev/pts/0. */
export function ttyRun(run: (rt: Runtime, args: string[]) => Result, rt: Runtime, image: string): string {
  const r = run(rt, ["--rm", "-t", image, "sh", "-c", "tty; exit 5"]);
  check(r.code === 5 && r.stdout.replace(/\r/g, "").trim() === "/dev/pts/0", "want /dev/pts/0 and exit 5", r);
  return "/dev/pts/0, exit 5";
}

/**
 * containers.conf for a private podman on this host: root without CAP_SYS_RESOURCE
 * (ulimits within the hard limits), no systemd; podman passes --log-format=json only
 * to runtimes named in runtime_supports_json.
 */
export function containersConf(dir: string, network?: string, runtimes: Record<string, string> = { bunc: BUNC, runc: RUNC! }): string {
  return [
    "[containers]",
    'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
    ...(network ? ["[network]", `network_config_dir = "${network}"`] : []),
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${dir}/events.log"`,
    'runtime_supports_json = ["crun", "runc", "bunc"]',
    "[engine.runtimes]",
    ...Object.entries(runtimes).map(([name, bin]) => `${name} = ["${bin}"]`),
    "",
  ].join("\n");
}
