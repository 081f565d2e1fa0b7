/**
 * A real systemd for the systemd cgroup driver's tests, on a host that has
 * none as init: /lib/systemd/systemd as PID 1 of its own pid, mount and
 * cgroup namespaces (unshare(1)), on the host's / but with private tmpfs on
 * /run, /tmp and /var/tmp, the cgroup hierarchies mounted afresh below a
 * cgroup of its own in each, and a system bus (dbus-daemon from Debian's
 * dbus package) it starts itself. It boots only bunc-test.target, which pulls
 * in nothing but the bus: no sysinit.target, so no systemd-tmpfiles (whose
 * Debian rules empty /tmp: booted on the host's /tmp it once wiped it);
 * the tmpfiles units are masked too, and stop() checks that a marker file in
 * the host's /tmp and /var/tmp is still there.
 *
 * Commands run inside with nsenter (inside()), so that bunc and runc see
 * the /run/systemd/system, bus socket and cgroup view that systemd has.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { leakCheckSkips, type Result, sh } from "../harness";

const SYSTEMD = "/lib/systemd/systemd";

/**
 * How systemd sees its cgroups: "hybrid", the v1 hierarchies and cgroup2 at
 * /sys/fs/cgroup/unified as on this host; "unified", only the cgroup2
 * hierarchy, mounted at /sys/fs/cgroup (a v2 host, whatever controllers the
 * host's cgroup2 has).
 */
export type CgroupMode = "hybrid" | "unified";

/** Why a systemd cannot be booted here in this mode, or undefined. */
export function systemdSkipReason(mode: CgroupMode = "hybrid"): string | undefined {
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is missing (Debian's systemd package)`;
  if (!existsSync("/usr/bin/dbus-daemon")) return "dbus-daemon is missing (Debian's dbus package)";
  for (const tool of ["unshare", "nsenter", "busctl", "systemctl"]) if (sh(["sh", "-c", `command -v ${tool}`]).code !== 0) return `${tool} is missing`;
  const hierarchies = hostHierarchies();
  if (mode === "unified" && !hierarchies.some((h) => h.type === "cgroup2")) return "the host has no cgroup2 hierarchy";
  if (mode === "hybrid" && !hierarchies.some((h) => h.type === "cgroup" && h.options.includes("memory"))) return "the host has no cgroup v1 memory hierarchy (a v1 or hybrid host is needed)";
  return undefined;
}

interface Hierarchy {
  /** Directory name under /sys/fs/cgroup ("memory", "systemd", "unified"). */
  name: string;
  /** mount -t TYPE -o OPTIONS */
  type: "cgroup" | "cgroup2";
  options: string;
  /** The test's own cgroup in it, from /proc/self/cgroup. */
  own: string;
}

function hostHierarchies(): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  const out: Hierarchy[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    const mountPoint = pre?.split(" ")[4];
    if (!post || !mountPoint || !/^\/sys\/fs\/cgroup\/[^/]+$/.test(mountPoint)) continue;
    const [type, , superOptions] = post.split(" ");
    if (type !== "cgroup" && type !== "cgroup2") continue;
    const name = path.basename(mountPoint);
    if (type === "cgroup2") out.push({ name, type, options: "", own: own.get("") ?? "/" });
    else {
      const controllers = superOptions!.split(",").filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("release_agent") && o !== "clone_children" && o !== "noprefix" && o !== "xattr");
      const key = controllers.map((c) => c).join(",");
      out.push({ name, type, options: controllers.some((c) => c.startsWith("name=")) ? `none,${key}` : key, own: own.get(key) ?? "/" });
    }
  }
  return out;
}

export class BootedSystemd {
  /** systemd's pid on the host. */
  readonly pid: number;
  private readonly launcher: ReturnType<typeof Bun.spawn>;
  private readonly cgroupDirs: string[];
  private readonly markers: string[];
  readonly log: string;

  /** Boot it; dir is a directory of the host's that stays visible inside (the tests' bundles and state). */
  constructor(readonly dir: string, readonly mode: CgroupMode = "hybrid") {
    const name = `bunc-systemd-test-${process.pid}`;
    const hierarchies = hostHierarchies();
    this.cgroupDirs = hierarchies.map((h) => `/sys/fs/cgroup/${h.name}${h.own === "/" ? "" : h.own}/${name}`);
    for (const [i, d] of this.cgroupDirs.entries()) {
      mkdirSync(d, { recursive: true });
      leakCheckSkips.add(d);
      if (hierarchies[i]!.name.split(",").includes("cpuset")) for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(`${d}/${f}`, readFileSync(`${path.dirname(d)}/${f}`));
    }
    this.markers = [`/tmp/bunc-systemd-marker-${process.pid}`, `/var/tmp/bunc-systemd-marker-${process.pid}`];
    for (const m of this.markers) writeFileSync(m, "the booted systemd must not touch this\n");
    this.log = path.join(dir, "systemd.log");
    const units: Record<string, string> = {
      "bunc-test.target": "[Unit]\nDescription=bunc test target\nDefaultDependencies=no\nWants=dbus.socket dbus.service\n",
      // systemd joins the bus once units named dbus.socket and dbus.service are both active (not under other names).
      "dbus.socket": "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/dbus/system_bus_socket\n",
      "dbus.service": "[Unit]\nDefaultDependencies=no\nRequires=dbus.socket\n[Service]\nType=notify\nNotifyAccess=main\nExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --nosyslog\n",
    };
    const script = [
      "set -e",
      "mount --make-rprivate /",
      // The tests' directory, from the host's /tmp, kept through the private /tmp (bound from an fd opened before).
      `exec 9<${JSON.stringify(dir)}`,
      "mount -t tmpfs -o mode=755 tmpfs /run && mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=1777 tmpfs /var/tmp",
      `mkdir -p ${JSON.stringify(dir)} && mount --no-canonicalize --bind /proc/self/fd/9 ${JSON.stringify(dir)} && exec 9<&-`,
      // The cgroup hierarchies afresh: in this cgroup namespace their root is our cgroup.
      ...(mode === "unified"
        ? ["mount -t cgroup2 cgroup2 /sys/fs/cgroup"]
        : ["mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup", ...hierarchies.map((h) => `mkdir /sys/fs/cgroup/${h.name} && mount -t ${h.type} ${h.options ? `-o ${h.options}` : ""} ${h.type} /sys/fs/cgroup/${h.name}`)]),
      "mkdir -p /run/systemd/system",
      ...Object.entries(units).map(([unit, text]) => `printf '%s' '${text}' > /run/systemd/system/${unit}`),
      "export container=bunc-test",
      `exec ${SYSTEMD} systemd.unit=bunc-test.target systemd.log_target=console systemd.log_level=info systemd.show_status=0 ` +
        ["systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service", "systemd-tmpfiles-clean.service", "systemd-tmpfiles-clean.timer"].map((u) => `systemd.mask=${u}`).join(" "),
    ].join("\n");
    // The launcher moves itself into the new cgroups, then becomes unshare, whose child is systemd.
    const enter = this.cgroupDirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
    this.launcher = Bun.spawn(["sh", "-c", `${enter} && exec unshare --cgroup --pid --fork --kill-child --mount --mount-proc bash -c "$0" >${this.log} 2>&1`, script], { stdio: ["ignore", "ignore", "inherit"] });
    try {
      this.pid = this.waitForPid();
      this.waitForBus();
    } catch (e) {
      // Nothing left of a boot that failed: unshare's --kill-child takes systemd with it.
      this.launcher.kill("SIGKILL");
      for (const end = Date.now() + 5_000; Date.now() < end && existsSync(`/proc/${this.launcher.pid}/cwd`);) Bun.sleepSync(20);
      try {
        this.removeCgroups();
      } finally {
        this.checkMarkers();
      }
      throw e;
    }
  }

  private waitForPid(): number {
    for (const end = Date.now() + 20_000; Date.now() < end; Bun.sleepSync(20)) {
      try {
        const unsharePid = this.launcher.pid;
        const child = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim().split(" ")[0];
        if (child && readFileSync(`/proc/${child}/comm`, "utf8").trim() === "systemd") return Number(child);
      } catch {
        // not yet
      }
      if (this.launcher.exitCode !== null) break;
    }
    throw new Error(`systemd did not start: ${this.logText()}`);
  }

  /** Until org.freedesktop.systemd1 answers on the system bus. */
  private waitForBus(): void {
    let last: Result | undefined;
    for (const end = Date.now() + 30_000; Date.now() < end; Bun.sleepSync(50)) {
      last = this.inside(["busctl", "--system", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.DBus.Peer", "Ping"]);
      if (last.code === 0) return;
    }
    throw new Error(`systemd is not on its bus: ${last?.stderr} ${this.logText()}`);
  }

  logText(): string {
    try {
      return readFileSync(this.log, "utf8");
    } catch {
      return "";
    }
  }

  /** The bus socket as the host reaches it (through systemd's root). */
  get busAddress(): string {
    return `unix:path=/proc/${this.pid}/root/run/dbus/system_bus_socket`;
  }

  /** Run argv in systemd's namespaces. */
  inside(argv: string[], opts: { timeoutMs?: number; stdin?: string } = {}): Result {
    return sh(["nsenter", "-t", String(this.pid), "-m", "-p", "-C", "--", ...argv], opts);
  }

  /** The host path of a cgroup directory as systemd's namespace names it (below our cgroup in each hierarchy). */
  hostCgroupDir(hierarchy: string, dir: string): string {
    const base = this.cgroupDirs.find((d) => d.startsWith(`/sys/fs/cgroup/${hierarchy}/`));
    if (!base) throw new Error(`no hierarchy ${hierarchy}`);
    return path.join(base, dir);
  }

  /** Every directory below our cgroups, in every hierarchy, as systemd's namespace names them. */
  cgroupTree(): string[] {
    const out: string[] = [];
    const walk = (root: string, rel: string) => {
      for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        out.push(`${root.split("/")[4]}:${path.join("/", rel, e.name)}`);
        walk(root, path.join(rel, e.name));
      }
    };
    for (const d of this.cgroupDirs) if (existsSync(d)) walk(d, "");
    return out;
  }

  /** Kill it and everything in its pid namespace, remove its cgroups; throws if the host's /tmp or /var/tmp lost the marker. */
  async stop(): Promise<void> {
    try {
      process.kill(this.pid, "SIGKILL");
    } catch {
      // gone
    }
    // unshare ends with its child (and is reaped here, not left a zombie to PID 1).
    await Promise.race([this.launcher.exited, Bun.sleep(10_000)]);
    this.removeCgroups();
    this.checkMarkers();
  }

  /** Remove our cgroup directory and everything below it in every hierarchy. */
  private removeCgroups(): void {
    for (const d of this.cgroupDirs) {
      // Deepest first; the pid namespace's processes take a moment to leave.
      const dirs: string[] = [];
      const walk = (dir: string) => {
        if (!existsSync(dir)) return;
        for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
        dirs.push(dir);
      };
      walk(d);
      for (const dir of dirs)
        for (const end = Date.now() + 5_000; existsSync(dir);) {
          try {
            rmdirSync(dir);
          } catch (e) {
            if (Date.now() > end) throw e;
            Bun.sleepSync(20);
          }
        }
      leakCheckSkips.delete(d);
    }
  }

  private checkMarkers(): void {
    const lost = this.markers.filter((m) => !existsSync(m) || !statSync(m).isFile());
    for (const m of this.markers) rmSync(m, { force: true });
    if (lost.length) throw new Error(`the booted systemd removed the host's ${lost.join(", ")}`);
  }
}
