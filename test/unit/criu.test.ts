/** runc checkpoint/restore flags → criu's command line, and criu's failures as one error. */
import { describe, expect, test } from "bun:test";
import { checkpointOptions } from "../../src/cli/checkpoint";
import { restoreOptions } from "../../src/cli/restore";
import { criuDumpArgs, criuErrorFromLog, criuRestoreArgs, findCriu, parseManageCgroupsMode, runCriu } from "../../src/container/criu";

const target = {
  pid: 42,
  rootfs: "/b/rootfs",
  bundle: "/b",
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/etc/hosts", type: "bind", source: "hosts", options: ["rbind", "ro"] },
    { destination: "/data", source: "/srv/data", options: ["bind"] },
  ],
};

describe("checkpoint flags → criu dump", () => {
  test("defaults: ./checkpoint as images and work dir, cgroups managed, binds external", () => {
    const o = checkpointOptions({ id: "c" }, ["c"], "/here");
    expect(criuDumpArgs(o, target)).toEqual([
      "dump", "--tree", "42", "--root", "/b/rootfs",
      "--images-dir", "/here/checkpoint", "--work-dir", "/here/checkpoint", "--log-file", "dump.log", "-v4",
      "--manage-cgroups",
      "--ext-mount-map", "/etc/hosts:/etc/hosts", "--ext-mount-map", "/data:/data",
    ]);
  });

  test("every runc flag maps to its criu option", () => {
    const raw = ["--image-path", "img", "--work-path", "/w", "--parent-path", "../prev", "--leave-running", "--tcp-established", "--ext-unix-sk",
      "--shell-job", "--lazy-pages", "--status-fd", "5", "--page-server", "10.0.0.1:1234", "--file-locks", "--manage-cgroups-mode", "full",
      "--empty-ns", "network", "--auto-dedup", "c"];
    const a = {
      "image-path": "img", "work-path": "/w", "parent-path": "../prev", "leave-running": true, "tcp-established": true, "ext-unix-sk": true,
      "shell-job": true, "lazy-pages": true, "status-fd": "5", "page-server": "10.0.0.1:1234", "file-locks": true, "manage-cgroups-mode": "full",
      "empty-ns": "network", "auto-dedup": true, id: "c",
    };
    const args = criuDumpArgs(checkpointOptions(a, raw, "/here"), { ...target, mounts: [], freezerCgroup: "/sys/fs/cgroup/freezer/c" });
    expect(args).toEqual([
      "dump", "--tree", "42", "--root", "/b/rootfs",
      "--images-dir", "/here/img", "--work-dir", "/w", "--log-file", "dump.log", "-v4",
      "--tcp-established", "--ext-unix-sk", "--shell-job", "--file-locks", "--auto-dedup", "--manage-cgroups=full",
      "--empty-ns", "net",
      "--prev-images-dir", "../prev", "--track-mem", "--leave-running", "--lazy-pages", "--status-fd", "5",
      "--page-server", "--address", "10.0.0.1", "--port", "1234",
      "--freeze-cgroup", "/sys/fs/cgroup/freezer/c",
    ]);
  });

  test("--pre-dump runs criu pre-dump with memory tracking and never --leave-running", () => {
    const args = criuDumpArgs(checkpointOptions({ "pre-dump": true, "leave-running": true }, [], "/x"), { ...target, mounts: [] });
    expect(args[0]).toBe("pre-dump");
    expect(args).toContain("pre-dump.log");
    expect(args).toContain("--track-mem");
    expect(args).not.toContain("--leave-running");
  });

  test("bad values are refused with the flag's name", () => {
    expect(() => parseManageCgroupsMode("hard")).toThrow(/--manage-cgroups-mode/);
    expect(() => criuDumpArgs(checkpointOptions({ "page-server": "nohost" }, []), target)).toThrow(/--page-server/);
    expect(() => criuDumpArgs(checkpointOptions({}, ["--empty-ns", "pid"]), target)).toThrow(/--empty-ns "pid"/);
    expect(() => checkpointOptions({ "status-fd": "x" }, [])).toThrow(/--status-fd/);
  });

  test("--empty-ns may be repeated", () => {
    expect(checkpointOptions({}, ["--empty-ns", "network", "--empty-ns=network"]).emptyNs).toEqual(["network", "network"]);
  });
});

describe("restore flags → criu restore", () => {
  test("detached sibling restore into the rootfs, binds mapped to their sources, cgroup root", () => {
    const o = restoreOptions({ id: "c", bundle: "/b", "lsm-profile": "apparmor:p", "lsm-mount-context": "ctx", "shell-job": true, "manage-cgroups-mode": "soft" }, [], "/here");
    expect(criuRestoreArgs(o, { ...target, cgroupRoot: "/c", pidFile: "/run/bunc/c/criu.pid" })).toEqual([
      "restore", "--root", "/b/rootfs", "--restore-detached", "--restore-sibling", "--pidfile", "/run/bunc/c/criu.pid",
      "--images-dir", "/here/checkpoint", "--work-dir", "/here/checkpoint", "--log-file", "restore.log", "-v4",
      "--shell-job", "--manage-cgroups=soft",
      "--lsm-profile", "apparmor:p", "--lsm-mount-context", "ctx", "--cgroup-root", "/c",
      "--ext-mount-map", "/etc/hosts:/b/hosts", "--ext-mount-map", "/data:/srv/data",
    ]);
  });

  test("restore options keep runc's detach, pid file and subreaper flags", () => {
    const o = restoreOptions({ id: "c", detach: true, "pid-file": "/p", bundle: "/b" }, ["--no-subreaper", "-d", "c"]);
    expect(o).toMatchObject({ id: "c", detach: true, pidFile: "/p", noSubreaper: true, bundle: "/b" });
  });

  test("an --lsm-profile without TYPE:NAME is refused", () => {
    expect(() => criuRestoreArgs(restoreOptions({ id: "c", "lsm-profile": "p" }, []), { ...target, pidFile: "/p" })).toThrow(/TYPE:NAME/);
  });
});

describe("running criu", () => {
  test("a missing criu is named, with how to get it", () => {
    expect(() => findCriu("/nonexistent/criu")).toThrow(/criu not found .*apt-get install criu/);
    expect(() => findCriu("no-such-criu-binary")).toThrow(/criu not found/);
  });

  test("criu's last errors from its log make the message", () => {
    const log = "(00.000001) Version: 3.17\n(00.002) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n(00.003) Error (criu/crtools.c:260): Could not initialize kernel features detection.\n";
    expect(criuErrorFromLog(log)).toBe("Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable; Error (criu/crtools.c:260): Could not initialize kernel features detection.");
    expect(criuErrorFromLog("all fine\n")).toBeUndefined();
  });

  test("a failing criu gives one error with its exit status", () => {
    expect(() => runCriu("/bin/false", ["dump"], "/nonexistent", "dump.log")).toThrow(/^criu dump failed \(exit status 1\)/);
  });
});
