/**
 * Rootless podman with bunc, each scenario beside rootless podman with runc:
 * the unprivileged user bunc-s2 (made by the test, with /etc/subuid ranges)
 * runs `podman --runtime bunc` with its own storage (vfs, and overlay where
 * the kernel allows it unprivileged), `--network none`, and podman's default
 * rootless network, slirp4netns, with a published port. podman runs the
 * runtime as root in its own user namespace: bunc's --rootless auto applies.
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { makeBundle } from "../../scripts/rootfs";
import { testUser, userDir, type TestUser } from "../integration/rootless-user";
import { check, containersConf, detachedLifecycle, ensureCommands, Report, sh, sideBySide, ttyRun, type Result, type Runtime } from "./setup";

const skip = ensureCommands(["podman", "conmon"]) ?? (sh(["which", "newuidmap"]).code !== 0 ? "newuidmap is not installed (uidmap package)" : undefined);
if (skip) console.log(`skip rootless podman client tests: ${skip}`);

const IMAGE = "localhost/busybox-rootless:latest";
const report = new Report("podman rootless");

/** A private rootless podman of the user: its HOME, XDG_RUNTIME_DIR, containers.conf and storage in one directory. */
class RootlessPodman {
  readonly dir = `/tmp/bunc-podman-rootless-${process.pid}`;
  readonly xdg = path.join(this.dir, "xdg");
  readonly conf = path.join(this.dir, "containers.conf");
  constructor(readonly user: TestUser) {
    userDir(user, this.dir);
    userDir(user, this.xdg);
    userDir(user, path.join(this.dir, "home"));
    writeFileSync(this.conf, containersConf(this.dir));
  }

  run(runtime: Runtime | undefined, args: string[], opts: { driver?: "vfs" | "overlay"; timeoutMs?: number } = {}): Result {
    const driver = opts.driver ?? "vfs";
    const env = [`HOME=${this.dir}/home`, `XDG_RUNTIME_DIR=${this.xdg}`, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", `CONTAINERS_CONF=${this.conf}`];
    const global = ["--storage-driver", driver, "--root", path.join(this.dir, `storage-${driver}`), "--runroot", path.join(this.dir, `run-${driver}`)];
    return sh(["setpriv", "--reuid", String(this.user.uid), "--regid", String(this.user.gid), "--init-groups", "env", "-i", ...env,
      "podman", ...global, ...(runtime ? ["--runtime", runtime] : []), ...args], { cwd: this.dir, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  importImage(driver: "vfs" | "overlay"): void {
    const tar = path.join(this.dir, "rootfs.tar");
    if (sh(["test", "-f", tar]).code !== 0) {
      makeBundle(path.join(this.dir, "bundle"));
      const t = sh(["tar", "-C", path.join(this.dir, "bundle/rootfs"), "-cf", tar, "."]);
      if (t.code !== 0) throw new Error(`tar: ${t.stderr}`);
      sh(["chown", `${this.user.uid}:${this.user.gid}`, tar]);
    }
    const r = this.run(undefined, ["import", tar, IMAGE], { driver, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`podman import (${driver}) failed: ${r.stderr}`);
  }

  /** Every container removed, the storage reset, podman's pause process (it holds the user namespace) ended, the directory gone. */
  cleanup(): void {
    for (const driver of ["vfs", "overlay"] as const) {
      this.run(undefined, ["rm", "-af", "-t", "0"], { driver });
      this.run(undefined, ["system", "reset", "-f"], { driver, timeoutMs: 120_000 });
    }
    try {
      const pid = Number(readFileSync(path.join(this.xdg, "libpod/tmp/pause.pid"), "utf8"));
      if (pid > 1) process.kill(pid, "SIGKILL");
    } catch {
      // no pause process was started
    }
    for (const m of readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(this.dir + "/")).sort((a, b) => b.length - a.length))
      sh(["umount", "-l", m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let podman: RootlessPodman;
let overlay: string | undefined;

describe.skipIf(Boolean(skip))("rootless podman with bunc and runc", () => {
  beforeAll(() => {
    const user = testUser("bunc-s2");
    if (!user?.sub) throw new Error("could not make the test user bunc-s2 with subordinate ranges");
    podman = new RootlessPodman(user);
    podman.importImage("vfs");
    try {
      podman.importImage("overlay");
    } catch (e) {
      overlay = (e as Error).message;
      console.log(`rootless podman: no overlay storage here: ${overlay}`);
    }
  }, 300_000);

  afterAll(() => {
    report.print();
    podman?.cleanup();
  }, 300_000);

  const run = (rt: Runtime, args: string[], driver: "vfs" | "overlay" = "vfs") => podman.run(rt, ["run", "--network", "none", ...args], { driver });

  test("run --rm: output and exit code (vfs)", async () => {
    await sideBySide(report, "run --rm (vfs)", (rt) => {
      const r = run(rt, ["--rm", IMAGE, "sh", "-c", "echo hello; id -u; exit 3"]);
      check(r.code === 3 && r.stdout === "hello\n0\n", "want hello, uid 0 and exit 3", r);
      return "hello, uid 0, exit 3";
    });
  }, 120_000);

  test("run --rm (overlay)", async () => {
    if (overlay) {
      console.log(`skip: overlay storage: ${overlay}`);
      return;
    }
    await sideBySide(report, "run --rm (overlay)", (rt) => {
      const r = run(rt, ["--rm", IMAGE, "sh", "-c", "grep -c ' / overlay ' /proc/mounts; exit 4"], "overlay");
      check(r.code === 4 && r.stdout === "1\n", "want an overlay / and exit 4", r);
      return "overlay /, exit 4";
    });
  }, 120_000);

  test("run -d + exec + logs + stop + rm", async () => {
    await sideBySide(report, "run -d/exec/logs/stop/rm", (rt) => detachedLifecycle(podman, run, rt, IMAGE, `bunc-rl-d-${rt}`));
  }, 180_000);

  test("run -t through conmon's console socket", async () => {
    await sideBySide(report, "run -t", (rt) => ttyRun(run, rt, IMAGE));
  }, 120_000);

  // slirp4netns opens /dev/net/tun from inside the user namespace. This host has no udev, so the
  // node is 0600 and that open fails for runc and bunc alike; a Debian machine has it 0666
  // (systemd's udev rules: KERNEL=="tun", MODE="0666"). The test gives it that mode while it runs.
  test("the default network (slirp4netns): tap0 with slirp's address, a published port reaches the container", async () => {
    const tun = "/dev/net/tun";
    if (!existsSync(tun) || sh(["which", "slirp4netns"]).code !== 0) {
      console.log(`skip: slirp4netns: ${existsSync(tun) ? "slirp4netns is not installed" : "no /dev/net/tun"}`);
      return;
    }
    const mode = statSync(tun).mode & 0o777;
    chmodSync(tun, 0o666);
    try {
      await sideBySide(report, "slirp4netns, -p", async (rt) => {
        const r = podman.run(rt, ["run", "--rm", IMAGE, "sh", "-c", "ip -4 -o addr show tap0 | awk '{print $4}'; ip route | grep -c '^default via 10.0.2.2 '"]);
        check(r.code === 0 && r.stdout === "10.0.2.100/24\n1\n", "want tap0 10.0.2.100/24 and the default route via 10.0.2.2", r);
        const port = rt === "runc" ? 18081 : 18082;
        const name = `bunc-rl-net-${rt}`;
        const d = podman.run(rt, ["run", "-d", "--name", name, "-p", `127.0.0.1:${port}:8080`, IMAGE, "sh", "-c", "echo served > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]);
        check(d.code === 0, "run -d -p", d);
        try {
          let got = "";
          for (let i = 0; i < 100 && got !== "served\n"; i++) {
            got = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2000) }).then((res) => res.text(), (e) => String(e));
            if (got !== "served\n") await Bun.sleep(100);
          }
          check(got === "served\n", `want the container's page through the published port, got ${JSON.stringify(got)}`, d);
        } finally {
          podman.run(rt, ["rm", "-f", "-t", "0", name]);
        }
        return "tap0 10.0.2.100/24, default via 10.0.2.2, -p served";
      });
    } finally {
      chmodSync(tun, mode);
    }
  }, 180_000);

  test("--user 1000:1000 (a subordinate id on the host)", async () => {
    await sideBySide(report, "--user", (rt) => {
      const r = run(rt, ["--rm", "--user", "1000:1000", IMAGE, "id"]);
      check(r.code === 0 && /^uid=1000\b.* gid=1000\b/.test(r.stdout), "want uid 1000, gid 1000", r);
      return r.stdout.trim();
    });
  }, 120_000);

  test("pause: refused without a cgroup, as with runc", async () => {
    await sideBySide(report, "pause (cgroup v1, no delegation)", (rt) => {
      const name = `bunc-rl-p-${rt}`;
      const d = run(rt, ["-d", "--name", name, IMAGE, "sleep", "100"]);
      check(d.code === 0, "run -d", d);
      try {
        const p = podman.run(rt, ["pause", name]);
        check(p.code !== 0 && /can not pause containers on rootless containers with cgroup V1/.test(p.stderr), "want podman's refusal", p);
        const i = podman.run(rt, ["inspect", "-f", "{{.State.Status}}", name]);
        check(i.stdout.trim() === "running", "still running", i);
        return "refused, still running";
      } finally {
        podman.run(rt, ["rm", "-f", "-t", "0", name]);
      }
    });
  }, 120_000);
});
