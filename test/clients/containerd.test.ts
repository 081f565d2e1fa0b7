/**
 * containerd's runc shim (io.containerd.runc.v2) with bunc as its runc binary
 * (`ctr run --runc-binary`, the shim's BinaryName), each scenario beside runc.
 * The shim drives create, start, exec, kill, delete, pause, resume, ps and
 * state, and reads the last JSON error line of the --log file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { posix as path } from "node:path";
import { BUNC, check, Containerd, ensureCommands, IMAGE, Podman, Report, RUNC, sh, sideBySide, type Runtime } from "./setup";

const skip = ensureCommands(["containerd", "ctr", "podman", "conmon", "script"]);
if (skip) console.log(`skip containerd client tests: ${skip}`);

const report = new Report("containerd");
let daemon: Containerd;
const binary = (rt: Runtime) => (rt === "bunc" ? BUNC : RUNC!);

describe.skipIf(Boolean(skip))("containerd with bunc and runc", () => {
  beforeAll(() => {
    daemon = new Containerd();
    daemon.start();
    // No registry: podman imports the busybox rootfs and saves it as an OCI archive for ctr.
    const podman = new Podman();
    try {
      podman.importImage();
      const archive = path.join(daemon.dir, "busybox.tar");
      podman.saveImage(archive);
      const r = daemon.ctr(["images", "import", archive], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`ctr images import: ${r.stderr}`);
    } finally {
      podman.cleanup();
    }
  }, 300_000);

  afterAll(() => {
    report.print();
    daemon?.stop();
  }, 120_000);

  const runArgs = (rt: Runtime) => ["run", "--runc-binary", binary(rt)];

  test("ctr run --rm --runc-binary: output and exit code", async () => {
    await sideBySide(report, "run --rm", (rt) => {
      const r = daemon.ctr([...runArgs(rt), "--rm", IMAGE, `bunc-test-rm-${rt}`, "sh", "-c", "echo hello; exit 3"]);
      check(r.code === 3 && r.stdout === "hello\n", "want hello and exit 3", r);
      return "hello, exit 3";
    });
  }, 120_000);

  test("ctr run -d + task exec + task ps + task kill + task delete", async () => {
    await sideBySide(report, "run -d/exec/ps/kill/delete", (rt) => {
      const id = `bunc-test-d-${rt}`;
      try {
        const d = daemon.ctr([...runArgs(rt), "-d", IMAGE, id, "sleep", "1000"]);
        check(d.code === 0, "run -d", d);
        const ls = daemon.ctr(["task", "ls"]);
        const pid = Number(ls.stdout.split("\n").find((l) => l.startsWith(id + " "))?.trim().split(/\s+/)[1]);
        check(/RUNNING/.test(ls.stdout) && pid > 0, "task ls: want RUNNING with a pid", ls);
        const e = daemon.ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo in-exec; exit 4"]);
        check(e.code === 4 && e.stdout === "in-exec\n", "exec: want in-exec and exit 4", e);
        const ps = daemon.ctr(["task", "ps", id]);
        check(ps.code === 0 && ps.stdout.split("\n").some((l) => l.trim().startsWith(String(pid))), `task ps: want pid ${pid}`, ps);
        const k = daemon.ctr(["task", "kill", "-s", "SIGKILL", id]);
        check(k.code === 0, "task kill", k);
        let status = "";
        for (let i = 0; i < 50 && !status.includes("STOPPED"); i++, Bun.sleepSync(100)) status = daemon.ctr(["task", "ls"]).stdout.split("\n").find((l) => l.startsWith(id + " ")) ?? "";
        check(status.includes("STOPPED"), `after kill: want STOPPED, got ${JSON.stringify(status)}`);
        const del = daemon.ctr(["task", "delete", id]);
        check(del.code === 0, "task delete", del);
        return "RUNNING, exec exit 4, ps lists init, kill → STOPPED, delete ok";
      } finally {
        daemon.ctr(["task", "delete", "-f", id]);
        daemon.ctr(["containers", "delete", id]);
      }
    });
  }, 180_000);

  test("ctr task pause/resume", async () => {
    await sideBySide(report, "task pause/resume", (rt) => {
      const id = `bunc-test-p-${rt}`;
      const status = () => (daemon.ctr(["task", "ls"]).stdout.split("\n").find((l) => l.startsWith(id + " ")) ?? "").trim().split(/\s+/)[2];
      try {
        const d = daemon.ctr([...runArgs(rt), "-d", IMAGE, id, "sleep", "1000"]);
        check(d.code === 0, "run -d", d);
        const p = daemon.ctr(["task", "pause", id]);
        check(p.code === 0 && status() === "PAUSED", `pause: want PAUSED, got ${status()}`, p);
        const r = daemon.ctr(["task", "resume", id]);
        check(r.code === 0 && status() === "RUNNING", `resume: want RUNNING, got ${status()}`, r);
        return "RUNNING → PAUSED → RUNNING";
      } finally {
        daemon.ctr(["task", "kill", "-s", "SIGKILL", id]);
        daemon.ctr(["task", "delete", "-f", id]);
        daemon.ctr(["containers", "delete", id]);
      }
    });
  }, 180_000);

  test("ctr run -t", async () => {
    await sideBySide(report, "run -t", (rt) => {
      const id = `bunc-test-t-${rt}`;
      // ctr -t wants a terminal on its own stdin: script(1) gives it one.
      const cmd = ["ctr", "--address", daemon.address, ...runArgs(rt), "-t", "--rm", IMAGE, id, "sh", "-c", "tty; exit 5"].map((a) => `'${a}'`).join(" ");
      const r = sh(["script", "-qec", cmd, "/dev/null"], { timeoutMs: 60_000 });
      check(r.code === 5 && r.stdout.replace(/[\r\0]/g, "").trim().endsWith("/dev/pts/0"), "want /dev/pts/0 and exit 5", r);
      return "/dev/pts/0, exit 5";
    });
  }, 120_000);

  test("a failing create: containerd shows the runtime's error from its --log", async () => {
    await sideBySide(report, "error from --log JSON", (rt) => {
      const id = `bunc-test-e-${rt}`;
      try {
        const r = daemon.ctr([...runArgs(rt), "--rm", IMAGE, id, "/nonexistent"]);
        check(r.code !== 0 && /OCI runtime create failed: .*"\/nonexistent"/.test(r.stderr), "want OCI runtime create failed naming /nonexistent", r);
        return "OCI runtime create failed, message shown";
      } finally {
        daemon.ctr(["containers", "delete", id]);
      }
    });
  }, 120_000);

  test("no task or container is left behind", () => {
    expect(daemon.ctr(["containers", "ls", "-q"]).stdout.trim()).toBe("");
  });
});
