/**
 * The container's root filesystem and mounts, seen from inside real
 * containers: root.path and root.readonly, --no-pivot, rootfsPropagation,
 * every mount kind, destinations that are missing or symlinks, /dev and
 * linux.devices, hostname and domainname. Where runc supports the same
 * config, bunc's view must equal runc's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { cgroupHierarchies, integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { accessOptions, both, buncRun, type Config, editBundle, mapUsers, mountAt, openSandboxForUserns, parseMountInfo, runcRun, show, userNamespaceSkipReason } from "./container-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping container mount tests: ${skip}`);

/** Assert bunc ran, and when runc also ran the config, that both printed the same. */
function expectSameAsRunc(res: ReturnType<typeof both>, normalize: (s: string) => string = (s) => s): void {
  expect(res.bunc.code, res.why).toBe(0);
  if (!res.runc) return;
  expect(res.runc.code, `runc refused the config: ${res.why}`).toBe(0);
  expect(normalize(res.bunc.stdout), res.why).toBe(normalize(res.runc.stdout));
}

const addMount = (m: Config) => (c: Config) => c.mounts.push(m);

describe.skipIf(!!skip)("root filesystem", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("root.path relative: resolved against the bundle, not the caller's working directory", () => {
    const r = buncRun(sb, "cat /marker", (c) => (c.root.path = "fs/root"), {
      cwd: "/",
      prepare: (b) => {
        mkdirSync(`${b}/fs`);
        renameSync(`${b}/rootfs`, `${b}/fs/root`);
        writeFileSync(`${b}/fs/root/marker`, "relative-root\n");
      },
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("relative-root\n");
  });

  test("root.path absolute", () => {
    const r = buncRun(sb, "cat /marker", undefined, {
      cwd: "/",
      prepare: (b) => {
        renameSync(`${b}/rootfs`, `${b}/abs-root`);
        writeFileSync(`${b}/abs-root/marker`, "absolute-root\n");
        editBundle(b, (c) => (c.root.path = `${b}/abs-root`));
      },
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("absolute-root\n");
  });

  test("root.readonly: writing / fails with Read-only file system, a tmpfs on /tmp stays writable", () => {
    const script = "touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-ok; grep -c ' / ro,' /proc/self/mountinfo";
    const edit = (c: Config) => {
      c.root.readonly = true;
      c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
    };
    const res = both(sb, script, edit);
    expect(res.bunc.stdout, res.why).toBe("touch: /x: Read-only file system\nrc=1\ntmp-ok\n1\n");
    expectSameAsRunc(res);
  });

  test("root.readonly false: a file written in / lands in the rootfs on the host", () => {
    let bundle = "";
    const r = buncRun(sb, "echo written > /from-inside && echo ok", (c) => (c.root.readonly = false), { prepare: (b) => (bundle = b) });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("ok\n");
    expect(readFileSync(`${bundle}/rootfs/from-inside`, "utf8")).toBe("written\n");
  });

  test("--no-pivot: runs, / is the rootfs and the host's files are out of reach", () => {
    const script = "cat /marker; [ -e /work ] || echo no-host-work; ls /..; cat /proc/self/mountinfo | awk '$5 == \"/\" {print $4}'";
    const prepare = (b: string) => writeFileSync(`${b}/rootfs/marker`, "no-pivot-root\n");
    const res = both(sb, script, undefined, { flags: ["--no-pivot"], prepare });
    expect(res.bunc.code, res.why).toBe(0);
    const [marker, work, ...rest] = res.bunc.stdout.trim().split("\n");
    expect(marker).toBe("no-pivot-root");
    expect(work).toBe("no-host-work");
    // ls /.. lists the rootfs's own entries.
    expect(rest).toContain("bin");
    // The mount at / is the bundle's rootfs directory of the host.
    expect(rest.at(-1)).toMatch(/\/rootfs$/);
    if (res.runc) {
      expect(res.runc.code, res.why).toBe(0);
      // Same view; the rootfs path differs (another bundle).
      const norm = (s: string) => s.replace(/\/[^\n]*\/bundle-\d+\/rootfs/g, "BUNDLE/rootfs");
      expect(norm(res.bunc.stdout)).toBe(norm(res.runc.stdout));
    }
  });

  // runc's no_pivot.bats: the host's /proc stays in the mount namespace under the moved
  // rootfs; while it is fully visible, a user namespace made in the container may mount
  // a fresh procfs (the kernel's mount_too_revealing check). Each case as runc.
  const NESTED_PROC = "awk '$5 ~ /^\\/(proc|sys)$/ {print $5, $9}' /proc/self/mountinfo; unshare -mrpf sh -c 'mount -t proc none /proc && echo nested-proc-mounted' 2>&1; true";
  const withSetfcap = (c: Config) => {
    c.process.capabilities.bounding.push("CAP_SETFCAP");
    c.process.capabilities.permitted.push("CAP_SETFCAP");
  };
  const hostHas = (point: string, fstype: string) => parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).some((m) => m.mountPoint === point && m.fstype === fstype);
  const noPivotCases: [string, (c: Config) => void][] = [
    ["as root", withSetfcap],
    ["rootfsPropagation shared: the host's own /proc and /sys stay mounted", (c) => (withSetfcap(c), (c.linux.rootfsPropagation = "shared"))],
    ["in a user namespace (the host's mounts are locked: covered instead of detached)", (c) => (withSetfcap(c), c.linux.namespaces.push({ type: "user" }), mapUsers(c))],
  ];
  for (const [name, edit] of noPivotCases) {
    test(`--no-pivot ${name}: a nested user namespace cannot mount a fresh procfs, as runc`, () => {
      if (name.includes("user namespace")) {
        const why = userNamespaceSkipReason();
        if (why) return console.warn(`skipped: ${why}`);
        openSandboxForUserns(sb);
      }
      const res = both(sb, NESTED_PROC, edit, { flags: ["--no-pivot"] });
      expect(res.bunc.code, res.why).toBe(0);
      expect(res.bunc.stdout, res.why).toBe("/proc proc\n/sys sysfs\nmount: permission denied (are you root?)\n");
      expectSameAsRunc(res);
      expect(hostHas("/proc", "proc") && hostHas("/sys", "sysfs")).toBe(true);
    });
  }

  test("rootfsPropagation shared or rshared on a rootfs whose parent mount is a private /: runs, as runc", () => {
    for (const value of ["shared", "rshared"]) {
      const res = both(sb, "awk '$5 == \"/\" {print $7}' /proc/self/mountinfo", (c) => (c.linux.rootfsPropagation = value));
      expectSameAsRunc(res);
    }
  });

  /** run under bunc and runc; both must refuse with `words`, and bunc leave no state. */
  function expectRefused(bundle: string, words: string) {
    const id = sb.id();
    const r = sb.bunc(["run", "-b", bundle, id]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stderr, show(r)).toContain(words);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(sb.bunc(["state", id]).code).not.toBe(0);
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    if (RUNC) {
      const ref = sb.runc(["run", "-b", bundle, sb.id()]);
      expect(ref.code, show(ref)).not.toBe(0);
      expect(ref.stderr, show(ref)).toContain(words);
    }
  }

  test("root.path a symlink to the rootfs: refused as runc ('not an absolute path, or a symlink')", () => {
    const bundle = sb.bundle(["true"]);
    renameSync(`${bundle}/rootfs`, `${bundle}/real-root`);
    symlinkSync("real-root", `${bundle}/rootfs`);
    expectRefused(bundle, "invalid rootfs: not an absolute path, or a symlink");
  });

  test("an absolute root.path through a symlinked directory: refused as runc", () => {
    const bundle = sb.bundle(["true"]);
    symlinkSync(bundle, `${bundle}-link`);
    editBundle(bundle, (c) => (c.root.path = `${bundle}-link/rootfs`));
    try {
      expectRefused(bundle, "invalid rootfs: not an absolute path, or a symlink");
    } finally {
      rmSync(`${bundle}-link`);
    }
  });

  test("a bundle reached through a symlink, with a relative root.path: runs (runc resolves the bundle first)", () => {
    const bundle = sb.bundle(["true"]);
    symlinkSync(bundle, `${bundle}-via`);
    try {
      const r = sb.bunc(["run", "-b", `${bundle}-via`, sb.id()]);
      expect(r.code, show(r)).toBe(0);
    } finally {
      rmSync(`${bundle}-via`);
    }
  });

  test("a config without root: refused as runc ('root must be specified')", () => {
    expectRefused(sb.bundle(["true"], (c) => delete c.root), "root must be specified");
  });

  test("a missing rootfs is refused before anything starts", () => {
    const id = sb.id();
    const bundle = sb.bundle(["true"], (c) => (c.root.path = "does-not-exist"));
    const r = sb.bunc(["run", "-b", bundle, id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/does-not-exist|rootfs/);
  });
});

describe.skipIf(!!skip)("rootfsPropagation", () => {
  // The bundles live on a shared mount, so slave and shared differ from private,
  // and a mount made in the container could propagate back to the host.
  const sb = new Sandbox();
  let ready = false;
  beforeAll(() => {
    ready = sh(["mount", "--bind", sb.dir, sb.dir]).code === 0 && sh(["mount", "--make-rshared", sb.dir]).code === 0;
    if (!ready) console.warn("cannot make a shared mount: rootfsPropagation tests skipped");
  });
  afterAll(() => {
    sh(["umount", "-R", "-l", sb.dir]);
    sb.cleanup();
  });

  /** Mounts of the host's mount namespace under a bundle (the container's own mounts leaked back). */
  const hostMountsUnder = (dir: string) =>
    parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"))
      .map((m) => m.mountPoint)
      .filter((p) => p.startsWith(`${dir}/`));
  /** Remove leaked mounts at once: other runs on this host read the host's mount table. */
  const unmountUnder = (dir: string) => {
    for (const p of hostMountsUnder(dir).sort((a, b) => b.length - a.length)) sh(["umount", "-l", p]);
  };

  /** Run cat /proc/self/mountinfo under one runtime; report what leaked onto the host. */
  function runOnce(runtime: "bunc" | "runc", value: string | undefined) {
    let bundle = "";
    const edit = (c: Config) => {
      if (value) c.linux.rootfsPropagation = value;
    };
    const opts = { prepare: (b: string) => (bundle = b) };
    const r = runtime === "bunc" ? buncRun(sb, "cat /proc/self/mountinfo", edit, opts) : runcRun(sb, "cat /proc/self/mountinfo", edit, opts);
    const leaked = hostMountsUnder(bundle).map((p) => p.slice(bundle.length));
    unmountUnder(bundle);
    return { r, leaked };
  }

  const optional = (stdout: string) =>
    parseMountInfo(stdout).find((m) => m.mountPoint === "/")?.optional.map((o) => o.replace(/:\d+$/, "")).sort().join(" ");

  // What the mount at / shows by the OCI spec's meaning of each value. runc 1.1.5
  // makes the rootfs's parent mount private and does not re-apply the value after
  // pivot_root, so it shows "" for slave, shared and unbindable: its value is also
  // accepted, but the container must run and nothing may leak onto the host.
  const cases: [string | undefined, string][] = [
    [undefined, "master"],
    ["slave", "master"],
    ["rslave", "master"],
    ["private", ""],
    ["rprivate", ""],
    ["shared", "shared"],
    ["rshared", "shared"],
    ["unbindable", "unbindable"],
    ["runbindable", "unbindable"],
  ];
  for (const [value, expected] of cases) {
    test(`${value ?? "unset (rslave)"}: / inside shows "${expected}" (or runc's value), and no container mount leaks onto the host`, () => {
      if (!ready) return;
      const b = runOnce("bunc", value);
      const r = RUNC ? runOnce("runc", value) : undefined;
      const why = `bunc: ${show(b.r)}\nbunc leaked onto the host: ${JSON.stringify(b.leaked)}\nrunc (same config): ${show(r?.r)}\nrunc leaked: ${JSON.stringify(r?.leaked)}`;
      expect(b.leaked, why).toEqual([]);
      if (r && r.r.code !== 0) {
        // runc refuses this one: bunc must refuse it too, with an error.
        expect(b.r.code, why).not.toBe(0);
        expect(b.r.stderr, why).not.toBe("");
        return;
      }
      expect(b.r.code, why).toBe(0);
      const accepted = [expected];
      if (r) accepted.push(optional(r.r.stdout)!);
      expect(accepted, why).toContain(optional(b.r.stdout)!);
    });
  }

  /** Start a container that waits for a host mount to appear under /mnt/late, then reports. */
  function watchHostMount(rootfsPropagation: string): string {
    const id = sb.id();
    const out = `${sb.dir}/out-${id}`;
    mkdirSync(out);
    const script = "i=0; while [ $i -lt 30 ] && [ ! -e /mnt/late/marker ]; do sleep 0.1; i=$((i+1)); done; if [ -e /mnt/late/marker ]; then echo seen > /out/result; else echo absent > /out/result; fi";
    const bundle = sb.bundle(["sh", "-c", script], (c) => {
      c.linux.rootfsPropagation = rootfsPropagation;
      c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["bind"] });
    });
    mkdirSync(`${bundle}/rootfs/mnt/late`, { recursive: true });
    const late = `${bundle}/rootfs/mnt/late`;
    try {
      const c = sb.bunc(["create", "-b", bundle, id]);
      expect(c.code, show(c)).toBe(0);
      expect(sb.bunc(["start", id]).code).toBe(0);
      expect(sh(["mount", "-t", "tmpfs", "late", late]).code).toBe(0);
      writeFileSync(`${late}/marker`, "x");
      for (let i = 0; i < 100 && !existsSync(`${out}/result`); i++) Bun.sleepSync(100);
      Bun.sleepSync(50);
      return existsSync(`${out}/result`) ? readFileSync(`${out}/result`, "utf8").trim() : "no result";
    } finally {
      unmountUnder(bundle);
    }
  }

  test("rslave: a mount made on the host after start appears inside", () => {
    if (!ready) return;
    expect(watchHostMount("rslave")).toBe("seen");
  });

  test("rprivate: a mount made on the host after start does not appear inside", () => {
    if (!ready) return;
    expect(watchHostMount("rprivate")).toBe("absent");
  });
});

describe.skipIf(!!skip)("mounts", () => {
  const sb = new Sandbox();
  const hostData = `${sb.dir}/hostdata`;
  const withSub = `${sb.dir}/with-sub`;
  let subMounted = false;
  beforeAll(() => {
    mkdirSync(`${hostData}/dir`, { recursive: true });
    writeFileSync(`${hostData}/dir/file1`, "dir-data\n");
    copyFileSync("/bin/busybox", `${hostData}/dir/busybox`);
    writeFileSync(`${hostData}/file2`, "file-data\n");
    mkdirSync(`${withSub}/sub`, { recursive: true });
    writeFileSync(`${withSub}/top`, "top\n");
    subMounted = sh(["mount", "-t", "tmpfs", "-o", "size=1m", "subtmp", `${withSub}/sub`]).code === 0;
    if (subMounted) writeFileSync(`${withSub}/sub/marker`, "in-submount\n");
  });
  afterAll(() => {
    if (subMounted) sh(["umount", "-l", `${withSub}/sub`]);
    sb.cleanup();
  });

  // The executor recurses (tmpcopyup's copy ~15 KiB a level; symlink resolution ~12 KiB). `run`'s setup
  // child shares bunc's memory on a stack of its own, which once was 256 KiB with nothing below it:
  // 17 levels crashed the child. It is now as large as a forked child's, with a guard page.
  test("tmpcopyup of a 40-level-deep tree and a 30-link symlink chain under a bind destination: the setup child's stack holds", () => {
    const deep = Array.from({ length: 40 }, () => "d").join("/");
    const bundle = sb.bundle(["sh", "-c", `cat /data/${deep}/leaf; cat /etc/hosts`], (c) => {
      c.root.readonly = false;
      c.mounts.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] });
      c.mounts.push({ destination: "/etc/hosts", type: "bind", source: `${hostData}/file2`, options: ["bind", "ro"] });
    });
    mkdirSync(`${bundle}/rootfs/data/${deep}`, { recursive: true });
    writeFileSync(`${bundle}/rootfs/data/${deep}/leaf`, "leaf\n");
    // /etc/hosts -> /l1/hosts, /lN -> /l(N+1)/d: hosts (a file bunc creates) ends up in /l30/d/d/…/d.
    rmSync(`${bundle}/rootfs/etc/hosts`, { force: true });
    symlinkSync("/l1/hosts", `${bundle}/rootfs/etc/hosts`);
    for (let n = 1; n < 30; n++) symlinkSync(`/l${n + 1}/d`, `${bundle}/rootfs/l${n}`);
    mkdirSync(`${bundle}/rootfs/l30${"/d".repeat(29)}`, { recursive: true });
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.stderr, show(r)).toBe("");
    expect(r.stdout).toBe("leaf\nfile-data\n");
    expect(r.code).toBe(0);
  });

  test("bind mounts of a directory and a file: contents, ro, nosuid/nodev/noexec in mountinfo and in effect", () => {
    const script = [
      "cat /mnt/dir/file1 /mnt/file",
      "touch /mnt/dir/new 2>&1",
      "/mnt/dir/busybox true 2>&1 || echo exec-refused",
      "echo appended >> /mnt/file && echo file-writable",
      "echo ==",
      "cat /proc/self/mountinfo",
    ].join("; ");
    const edit = (c: Config) => {
      c.mounts.push({ destination: "/mnt/dir", type: "bind", source: `${hostData}/dir`, options: ["bind", "ro", "nosuid", "nodev", "noexec"] });
      c.mounts.push({ destination: "/mnt/file", type: "bind", source: "file2", options: ["bind", "rw"] });
    };
    const bundles: string[] = [];
    const prepare = (b: string) => {
      bundles.push(b);
      writeFileSync(`${b}/file2`, "file-data\n");
    };
    const res = both(sb, script, edit, { prepare });
    expect(res.bunc.code, res.why).toBe(0);
    const [head, info] = res.bunc.stdout.split("==\n");
    expect(head).toMatch(/^dir-data\nfile-data\n/);
    expect(head).toContain("touch: /mnt/dir/new: Read-only file system");
    expect(head).toContain("exec-refused");
    expect(head).toContain("file-writable");
    const mounts = parseMountInfo(info!);
    expect(accessOptions(mountAt(mounts, "/mnt/dir"))).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
    expect(accessOptions(mountAt(mounts, "/mnt/file"))).toContain("rw");
    expect(mountAt(mounts, "/mnt/file")!.root).toEndWith("/file2");
    if (res.runc) {
      expect(res.runc.code, res.why).toBe(0);
      const ref = parseMountInfo(res.runc.stdout.split("==\n")[1]!);
      for (const p of ["/mnt/dir", "/mnt/file"]) expect(accessOptions(mountAt(mounts, p)), p).toEqual(accessOptions(mountAt(ref, p)));
      expect(head).toBe(res.runc.stdout.split("==\n")[0]!);
    }
    // The rw bind wrote through to the host file.
    expect(readFileSync(`${bundles[0]}/file2`, "utf8")).toBe("file-data\nappended\n");
  });

  test("bind with options suid, dev, exec clears them; strictatime/noatime show in mountinfo, as runc", () => {
    const edit = (c: Config) => {
      c.mounts.push({ destination: "/mnt/a", type: "bind", source: `${hostData}/dir`, options: ["bind", "noatime", "nosuid"] });
      c.mounts.push({ destination: "/mnt/b", type: "bind", source: `${hostData}/dir`, options: ["bind", "strictatime", "ro"] });
    };
    const res = both(sb, "cat /proc/self/mountinfo", edit);
    expect(res.bunc.code, res.why).toBe(0);
    const mounts = parseMountInfo(res.bunc.stdout);
    expect(accessOptions(mountAt(mounts, "/mnt/a"))).toEqual(expect.arrayContaining(["noatime", "nosuid", "rw"]));
    expect(accessOptions(mountAt(mounts, "/mnt/b"))).toEqual(expect.arrayContaining(["ro"]));
    expect(accessOptions(mountAt(mounts, "/mnt/b"))).not.toContain("relatime");
    if (res.runc) {
      const ref = parseMountInfo(res.runc.stdout);
      for (const p of ["/mnt/a", "/mnt/b"]) expect(accessOptions(mountAt(mounts, p)), p).toEqual(accessOptions(mountAt(ref, p)));
    }
  });

  test("rbind shows submounts, bind does not", () => {
    if (!subMounted) return console.warn("cannot mount a tmpfs on the host: skipped");
    const script = "cat /mnt/rec/top /mnt/rec/sub/marker; cat /mnt/plain/top; ls /mnt/plain/sub | wc -l";
    const edit = (c: Config) => {
      c.mounts.push({ destination: "/mnt/rec", type: "bind", source: withSub, options: ["rbind"] });
      c.mounts.push({ destination: "/mnt/plain", type: "bind", source: withSub, options: ["bind"] });
    };
    const res = both(sb, script, edit);
    expect(res.bunc.stdout, res.why).toBe("top\nin-submount\ntop\n0\n");
    expectSameAsRunc(res);
  });

  test("rbind with ro: the submount is read-only too (as runc)", () => {
    if (!subMounted) return console.warn("cannot mount a tmpfs on the host: skipped");
    const script = "touch /mnt/rec/sub/x 2>&1; touch /mnt/rec/x 2>&1; true";
    const res = both(sb, script, addMount({ destination: "/mnt/rec", type: "bind", source: withSub, options: ["rbind", "ro"] }));
    expect(res.bunc.code, res.why).toBe(0);
    expect(res.bunc.stdout).toContain("touch: /mnt/rec/x: Read-only file system");
    expectSameAsRunc(res);
  });

  test("bind with a relative source: relative to the bundle", () => {
    const prepare = (b: string) => {
      mkdirSync(`${b}/data`);
      writeFileSync(`${b}/data/hello`, "relative-source\n");
    };
    const res = both(sb, "cat /mnt/data/hello", addMount({ destination: "/mnt/data", type: "bind", source: "data", options: ["bind", "ro"] }), { prepare, cwd: "/" });
    expect(res.bunc.stdout, res.why).toBe("relative-source\n");
    expectSameAsRunc(res);
  });

  test("proc, sysfs, tmpfs, devpts, mqueue: type, flags and data in mountinfo, as runc", () => {
    const edit = (c: Config) => {
      c.mounts.push({ destination: "/mnt/t", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1770", "size=2m"] });
      c.mounts.push({ destination: "/mnt/proc2", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] });
    };
    const script = "stat -c '%a' /mnt/t; cat /mnt/proc2/self/comm; ls /sys/kernel >/dev/null && echo sysfs-ok; echo ==; cat /proc/self/mountinfo";
    const res = both(sb, script, edit);
    expect(res.bunc.code, res.why).toBe(0);
    const [head, info] = res.bunc.stdout.split("==\n");
    expect(head).toBe("1770\ncat\nsysfs-ok\n");
    const mounts = parseMountInfo(info!);
    const expected: [string, string, string[], string[]][] = [
      ["/proc", "proc", ["rw"], []],
      ["/dev", "tmpfs", ["nosuid", "rw"], ["mode=755", "size=65536k"]],
      ["/dev/pts", "devpts", ["noexec", "nosuid", "rw"], ["gid=5", "mode=620", "ptmxmode=666"]],
      ["/dev/shm", "tmpfs", ["nodev", "noexec", "nosuid", "rw"], ["size=65536k"]],
      ["/dev/mqueue", "mqueue", ["nodev", "noexec", "nosuid", "rw"], []],
      ["/sys", "sysfs", ["nodev", "noexec", "nosuid", "ro"], []],
      ["/mnt/t", "tmpfs", ["nodev", "nosuid", "rw"], ["mode=1770", "size=2048k"]],
      ["/mnt/proc2", "proc", ["nodev", "noexec", "nosuid", "rw"], []],
    ];
    for (const [point, type, opts, data] of expected) {
      const m = mountAt(mounts, point);
      expect(m, `${point} missing`).toBeDefined();
      expect(m!.fstype, point).toBe(type);
      expect(accessOptions(m).filter((o) => !o.endsWith("atime")), point).toEqual(opts);
      expect(m!.superOptions, point).toEqual(expect.arrayContaining(data));
    }
    if (res.runc) {
      expect(res.runc.code, res.why).toBe(0);
      const ref = parseMountInfo(res.runc.stdout.split("==\n")[1]!);
      for (const [point] of expected) {
        const a = mountAt(mounts, point)!, b = mountAt(ref, point)!;
        expect([a.fstype, accessOptions(a), a.superOptions], point).toEqual([b.fstype, accessOptions(b), b.superOptions]);
      }
    }
  });

  test('"acl" and "noacl" on a tmpfs: mount flags as in runc 1.1, not tmpfs data (which tmpfs refuses)', () => {
    for (const word of ["acl", "noacl"]) {
      const res = both(sb, "echo x > /mnt/a/f && cat /mnt/a/f", addMount({ destination: "/mnt/a", type: "tmpfs", source: "tmpfs", options: [word, "size=1m"] }));
      expect(res.bunc.stdout, res.why).toBe("x\n");
      expectSameAsRunc(res);
    }
  });

  test("the default config's mount table has runc's mount points, types and access flags", () => {
    const res = both(sb, "cat /proc/self/mountinfo");
    expect(res.bunc.code, res.why).toBe(0);
    if (!res.runc) return;
    expect(res.runc.code, res.why).toBe(0);
    // Not compared here: the tmpfs at /sys/fs/cgroup (runc 1.1.5 leaves it rw, see the
    // cgroup tests) and the masked files (container-process.test.ts compares them).
    const masked = new Set(["/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/latency_stats", "/proc/timer_stats", "/proc/sched_debug", "/sys/fs/cgroup"]);
    const view = (s: string) =>
      parseMountInfo(s)
        .filter((m) => !masked.has(m.mountPoint))
        .map((m) => `${m.mountPoint} ${m.fstype} ${accessOptions(m).join(",")}`)
        .sort();
    expect(view(res.bunc.stdout)).toEqual(view(res.runc.stdout));
  });

  describe("cgroup (v1)", () => {
    test("each hierarchy shows the container's own cgroup, read-only", () => {
      const id = sb.id();
      const bundle = sb.bundle(["sh", "-c", "ls /sys/fs/cgroup; echo ==; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/cgroup.procs | head -1; { echo max > /sys/fs/cgroup/pids/pids.max; } 2>&1; echo ==; cat /proc/self/mountinfo"]);
      const r = sb.bunc(["run", "-b", bundle, id]);
      expect(r.code, show(r)).toBe(0);
      const [dirs, files, info] = r.stdout.split("==\n");
      const hostDirs = cgroupHierarchies().filter((d) => d !== "unified");
      expect(dirs!.trim().split("\n")).toEqual(expect.arrayContaining(hostDirs));
      const [limit, firstPid, write] = files!.trim().split("\n");
      expect(limit).toMatch(/^\d+$/);
      expect(firstPid).toBe("1");
      expect(write).toMatch(/Read-only file system/);
      const mounts = parseMountInfo(info!);
      for (const d of ["memory", "pids", "cpu", "devices"]) {
        const m = mountAt(mounts, `/sys/fs/cgroup/${d}`);
        expect(m, d).toBeDefined();
        expect(m!.fstype).toBe("cgroup");
        expect(m!.root, d).toEndWith(`/${id}`);
        expect(accessOptions(m)).toContain("ro");
      }
    });

    test("the same directories and bind flags as runc", () => {
      const res = both(sb, "ls /sys/fs/cgroup; echo ==; cat /proc/self/mountinfo");
      expect(res.bunc.code, res.why).toBe(0);
      if (!res.runc) return;
      expect(res.runc.code, res.why).toBe(0);
      expect(res.bunc.stdout.split("==\n")[0]).toBe(res.runc.stdout.split("==\n")[0]!);
      const view = (s: string) =>
        parseMountInfo(s.split("==\n")[1]!)
          .filter((m) => m.mountPoint.startsWith("/sys/fs/cgroup/"))
          .map((m) => `${m.mountPoint} ${m.fstype} ${accessOptions(m).join(",")} ${m.superOptions.join(",")}`);
      expect(view(res.bunc.stdout)).toEqual(view(res.runc.stdout));
    });

    test("the tmpfs at /sys/fs/cgroup is read-only when the cgroup mount is (runc 1.1.5 leaves it rw: not compared)", () => {
      const r = buncRun(sb, "mkdir /sys/fs/cgroup/x 2>&1; cat /proc/self/mountinfo");
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain("mkdir: can't create directory '/sys/fs/cgroup/x': Read-only file system");
      const m = mountAt(parseMountInfo(r.stdout), "/sys/fs/cgroup");
      expect(m?.fstype).toBe("tmpfs");
      expect(accessOptions(m)).toEqual(["nodev", "noexec", "nosuid", "relatime", "ro"]);
    });

    test("without ro: the container can write its own cgroup files", () => {
      const edit = (c: Config) => {
        c.mounts = c.mounts.map((m: Config) => (m.type === "cgroup" ? { ...m, options: ["nosuid", "noexec", "nodev", "relatime"] } : m));
      };
      const res = both(sb, "echo 1000 > /sys/fs/cgroup/pids/pids.max && cat /sys/fs/cgroup/pids/pids.max", edit);
      expect(res.bunc.stdout, res.why).toBe("1000\n");
      expectSameAsRunc(res);
    });
  });

  test("a destination missing in the rootfs is created (directory for a tmpfs or a dir bind, file for a file bind)", () => {
    const edit = (c: Config) => {
      c.mounts.push({ destination: "/new/deep/dir", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
      c.mounts.push({ destination: "/new/bound/file", type: "bind", source: `${hostData}/file2`, options: ["bind", "ro"] });
      c.mounts.push({ destination: "/new/bound/dir", type: "bind", source: `${hostData}/dir`, options: ["bind", "ro"] });
    };
    const script = "stat -c '%n %F' /new/deep/dir /new/bound/file /new/bound/dir; grep -c ' /new/' /proc/self/mountinfo";
    const res = both(sb, script, edit);
    expect(res.bunc.stdout, res.why).toMatch(/^\/new\/deep\/dir directory\n\/new\/bound\/file regular (empty )?file\n\/new\/bound\/dir directory\n3\n$/);
    expectSameAsRunc(res);
  });

  test("a destination that is an absolute symlink resolves inside the rootfs, never on the host", () => {
    const marker = `${sb.dir}/host-marker-dir`;
    mkdirSync(marker, { recursive: true });
    writeFileSync(`${marker}/host-file`, "host\n");
    const payload = `${sb.dir}/payload`;
    mkdirSync(payload, { recursive: true });
    writeFileSync(`${payload}/payload-file`, "payload\n");
    const prepare = (b: string) => symlinkSync(marker, `${b}/rootfs/evil`);
    const script = "ls /evil/; echo ==; cat /proc/self/mountinfo";
    const res = both(sb, script, addMount({ destination: "/evil", type: "bind", source: payload, options: ["bind", "ro"] }), { prepare });
    expect(res.bunc.code, res.why).toBe(0);
    const [listing, info] = res.bunc.stdout.split("==\n");
    expect(listing).toBe("payload-file\n");
    // The mount is on <rootfs>/<marker path>, shown inside as the marker path.
    expect(mountAt(parseMountInfo(info!), marker), info).toBeDefined();
    // The host directory is untouched, and nothing is mounted on it.
    expect(sh(["ls", marker]).stdout).toBe("host-file\n");
    expect(parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).some((m) => m.mountPoint === marker)).toBe(false);
    if (res.runc) expect(res.runc.stdout.split("==\n")[0], res.why).toBe(listing!);
  });

  test("a destination that is an absolute symlink to an existing directory of the rootfs mounts there", () => {
    const prepare = (b: string) => {
      mkdirSync(`${b}/rootfs/existing`);
      symlinkSync("/existing", `${b}/rootfs/link`);
    };
    const res = both(sb, "awk '$5 ~ /existing|link/ {print $5, $9}' /proc/self/mountinfo", addMount({ destination: "/link", type: "tmpfs", source: "tmpfs" }), { prepare });
    expect(res.bunc.stdout, res.why).toBe("/existing tmpfs\n");
    expectSameAsRunc(res);
  });

  test("a destination that is a relative symlink climbing out of the rootfs stays inside it", () => {
    const prepare = (b: string) => symlinkSync("../../../../../../../../escape-target", `${b}/rootfs/climb`);
    const script = "grep -c ' /escape-target ' /proc/self/mountinfo; stat -c %F /escape-target";
    const res = both(sb, script, addMount({ destination: "/climb", type: "tmpfs", source: "tmpfs", options: ["size=1m"] }), { prepare });
    expect(res.bunc.stdout, res.why).toBe("1\ndirectory\n");
    expect(existsSync("/escape-target")).toBe(false);
    expectSameAsRunc(res);
  });

  test("proc on a symlink destination is refused (CVE-2019-19921), as runc does", () => {
    const prepare = (b: string) => {
      rmSync(`${b}/rootfs/proc`, { recursive: true });
      mkdirSync(`${b}/rootfs/fakeproc`);
      symlinkSync("/fakeproc", `${b}/rootfs/proc`);
    };
    const res = both(sb, "echo ran", undefined, { prepare });
    expect(res.bunc.code, res.why).not.toBe(0);
    expect(res.bunc.stdout).toBe("");
    expect(res.bunc.stderr, res.why).toMatch(/proc.*(symbolic link|ordinary directory)/);
    if (res.runc) expect(res.runc.code, res.why).not.toBe(0);
  });

  test("sysfs on a symlink destination is refused, as runc does", () => {
    const prepare = (b: string) => {
      rmSync(`${b}/rootfs/sys`, { recursive: true });
      mkdirSync(`${b}/rootfs/fakesys`);
      symlinkSync("fakesys", `${b}/rootfs/sys`);
    };
    const res = both(sb, "echo ran", undefined, { prepare });
    expect(res.bunc.code, res.why).not.toBe(0);
    expect(res.bunc.stdout).toBe("");
    if (res.runc) expect(res.runc.code, res.why).not.toBe(0);
  });

  describe("/dev", () => {
    const DEV_SCRIPT = [
      "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done",
      "for l in fd stdin stdout stderr ptmx; do echo \"/dev/$l -> $(readlink /dev/$l)\"; done",
      "echo ==",
      "ls -A /dev | sort",
    ].join("; ");

    test("the standard nodes are char devices with the right numbers, the symlinks point where runc's do", () => {
      const res = both(sb, DEV_SCRIPT);
      expect(res.bunc.code, res.why).toBe(0);
      const [nodes, listing] = res.bunc.stdout.split("==\n");
      expect(nodes).toBe(
        [
          "/dev/null character special file 1:3 666 0:0",
          "/dev/zero character special file 1:5 666 0:0",
          "/dev/full character special file 1:7 666 0:0",
          "/dev/random character special file 1:8 666 0:0",
          "/dev/urandom character special file 1:9 666 0:0",
          "/dev/tty character special file 5:0 666 0:0",
          "/dev/fd -> /proc/self/fd",
          "/dev/stdin -> /proc/self/fd/0",
          "/dev/stdout -> /proc/self/fd/1",
          "/dev/stderr -> /proc/self/fd/2",
          "/dev/ptmx -> pts/ptmx",
          "",
        ].join("\n"),
      );
      expect(listing!.trim().split("\n")).toEqual(expect.arrayContaining(["full", "mqueue", "null", "pts", "shm", "tty", "urandom", "zero"]));
      expectSameAsRunc(res);
    });

    test("the devices work: /dev/null swallows, /dev/zero gives zeros, /dev/full is full", () => {
      const r = buncRun(sb, "echo x > /dev/null && echo null-ok; head -c 3 /dev/zero | od -An -tx1; dd if=/dev/zero of=/dev/full bs=1 count=1 2>&1 | head -1; head -c 8 /dev/urandom | wc -c");
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/^null-ok\n +00 00 00\n[^\n]*No space left on device\n8\n$/);
    });

    test("linux.devices: a char device, a block device, a fifo and a nested path, with mode and owner", () => {
      const edit = (c: Config) => {
        c.linux.devices = [
          { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
          { path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 },
          { path: "/dev/vdz", type: "b", major: 254, minor: 16, fileMode: 0o640, uid: 0, gid: 6 },
          { path: "/dev/myfifo", type: "p", fileMode: 0o620, uid: 1000, gid: 1001 },
        ];
      };
      const res = both(sb, "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/net/tun /dev/vdz /dev/myfifo", edit);
      expect(res.bunc.stdout, res.why).toBe(
        [
          "/dev/fuse character special file a:e5 666 0:0",
          "/dev/net/tun character special file a:c8 600 0:0",
          "/dev/vdz block special file fe:10 640 0:6",
          "/dev/myfifo fifo 0:0 620 1000:1001",
          "",
        ].join("\n"),
      );
      expectSameAsRunc(res);
    });

    // runc's mounts.bats "ro /dev mount" (runc issue 3248): /dev becomes read-only after
    // devpts, shm, mqueue and the device nodes are made in it, and only /dev itself.
    test("/dev read-only: the mounts and devices under it are made first, then /dev alone is read-only, as runc", () => {
      const edit = (c: Config) => {
        c.mounts.find((m: Config) => m.destination === "/dev").options.push("ro");
        c.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 }];
      };
      const script = "grep ' /dev' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; stat -c '%n %t:%T' /dev/fuse; touch /dev/x 2>&1; touch /dev/shm/x && echo shm-rw";
      const res = both(sb, script, edit);
      expect(res.bunc.stdout, res.why).toBe(
        ["/dev ro", "/dev/pts rw", "/dev/shm rw", "/dev/mqueue rw", "/dev/fuse a:e5", "touch: /dev/x: Read-only file system", "shm-rw", ""].join("\n"),
      );
      expectSameAsRunc(res);
    });

    test("a read-only tmpfs with a bind mount under it: the bind's target is made first, as runc", () => {
      const edit = (c: Config) => {
        c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid", "nodev", "mode=755"] });
        c.mounts.push({ destination: "/mnt/sub", type: "bind", source: "/etc", options: ["rbind", "ro"] });
      };
      const res = both(sb, "grep ' /mnt' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; [ -s /mnt/sub/hostname ] && echo bound; touch /mnt/x 2>&1; true", edit);
      expect(res.bunc.stdout, res.why).toBe("/mnt ro\n/mnt/sub ro\nbound\ntouch: /mnt/x: Read-only file system\n");
      expectSameAsRunc(res);
    });

    test("/dev bind mounted from the host: no nodes are made in it", () => {
      const edit = (c: Config) => {
        c.mounts = c.mounts.filter((m: Config) => !m.destination.startsWith("/dev"));
        c.mounts.push({ destination: "/dev", type: "bind", source: "/dev", options: ["rbind", "nosuid", "noexec"] });
      };
      const res = both(sb, "stat -c '%F %t:%T' /dev/null /dev/vda 2>&1; [ -L /dev/stdin ] && echo stdin-link", edit);
      expect(res.bunc.code, res.why).toBe(0);
      expect(res.bunc.stdout.split("\n")[0]).toBe("character special file 1:3");
      expectSameAsRunc(res);
    });
  });

  test("hostname, as runc", () => {
    const res = both(sb, "hostname; cat /proc/sys/kernel/hostname; uname -n", (c) => (c.hostname = "mounts-test"));
    expect(res.bunc.stdout, res.why).toBe("mounts-test\nmounts-test\nmounts-test\n");
    expectSameAsRunc(res);
  });

  test("domainname (runc 1.1.5 ignores it, so no comparison)", () => {
    const r = buncRun(sb, "cat /proc/sys/kernel/domainname; domainname 2>/dev/null || true", (c) => (c.domainname = "example.org"));
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("example.org");
  });

  test("no hostname in the config: the uts namespace keeps the host's name", () => {
    const res = both(sb, "hostname", (c) => delete c.hostname);
    expect(res.bunc.stdout, res.why).toBe(sh(["hostname"]).stdout);
    expectSameAsRunc(res);
  });
});
