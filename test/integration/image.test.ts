/**
 * bunc image: unpack compared with umoci's on images podman builds (several
 * layers: deletions, hardlinks, symlinks, devices, a fifo, owners, modes,
 * set-id bits, an xattr) in its three save formats; hostile archives
 * refused with nothing written outside; image run's exit status, flags,
 * cleanup, and concurrent first runs sharing the layer cache.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { makeBundle } from "../../scripts/rootfs";
import { BUNC, integrationSkipReason, RUNC, sh } from "../harness";
import { Podman } from "../clients/setup";
import { makeLayout, makeTar } from "./image-helpers";

const which = (c: string) => sh(["sh", "-c", `command -v ${c}`]).code === 0;
const skip = integrationSkipReason() ?? (!which("podman") ? "podman is not installed" : !which("umoci") ? "umoci is not installed (scripts/install-deps.sh)" : !RUNC ? "runc is not installed" : undefined);
if (skip) console.log(`skipping image tests: ${skip}`);

const work = mkdtempSync(path.join(tmpdir(), "bunc-image-"));
/** A private bunc root, so the cache and the runs are this file's alone. */
const root = path.join(work, "root");
const bunc = (args: string[], opts: { timeoutMs?: number } = {}) => sh([BUNC, "--root", root, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
let podman: Podman;
const archive = { oci: path.join(work, "app-oci.tar"), dir: path.join(work, "app-dir"), docker: path.join(work, "app-docker.tar") };

/** Every file of a tree: type, mode, owner, size, link target, device, xattrs, mtime, and which paths share an inode. */
function tree(dir: string): string[] {
  const lines: string[] = [];
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(dir, r);
      const st = lstatSync(p);
      const link = st.isSymbolicLink() ? sh(["readlink", p]).stdout.trim() : "";
      const first = st.nlink > 1 && !st.isDirectory() ? inodes.get(st.ino) : undefined;
      if (st.nlink > 1 && !st.isDirectory() && !first) inodes.set(st.ino, r);
      const mtime = st.isDirectory() ? "" : String(Math.floor(st.mtimeMs / 1000));
      lines.push(`${r} mode=${st.mode.toString(8)} ${st.uid}:${st.gid} size=${st.isFile() ? st.size : 0} link=${link} rdev=${st.rdev} mtime=${mtime} same-as=${first ?? ""}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  const x = sh(["python3", "-c", "import os,sys\nfor r,ds,fs in os.walk(sys.argv[1]):\n  for n in sorted(ds+fs):\n    p=os.path.join(r,n)\n    for k in sorted(os.listxattr(p, follow_symlinks=False)):\n      print(os.path.relpath(p,sys.argv[1]), k, os.getxattr(p,k,follow_symlinks=False))", dir]);
  return [...lines, ...x.stdout.trim().split("\n").filter(Boolean).sort()];
}

beforeAll(() => {
  if (skip) return;
  // vfs: podman's storage makes no mounts on the host; its own root, run root and conf (test/clients/setup.ts).
  process.env.STORAGE_DRIVER = "vfs";
  podman = new Podman();
  const base = path.join(work, "base");
  makeBundle(base);
  writeFileSync(path.join(base, "rootfs/etc/marked"), "x\n");
  sh(["python3", "-c", "import os,sys; os.setxattr(sys.argv[1], 'user.bunc', b'hello')", path.join(base, "rootfs/etc/marked")]);
  const tar = path.join(work, "base.tar");
  expect(sh(["tar", "--xattrs", "--xattrs-include=*", "-C", path.join(base, "rootfs"), "-cf", tar, "."]).code).toBe(0);
  const ok = (r: ReturnType<typeof sh>) => expect(r.stderr + `(${r.code})`).toEndWith("(0)");
  ok(podman.run(undefined, ["import", "--change", "CMD=/bin/sh", tar, "localhost/base"]));
  ok(podman.run("runc", ["run", "--network", "none", "--name", "l2", "localhost/base", "sh", "-c",
    "mkdir -p /data/sub /data/keep && echo hi > /data/a && ln /data/a /data/hard && ln -s ../a /data/sub/rel && ln -s /bin/busybox /data/abs" +
    " && mknod /data/chr c 1 3 && mknod /data/blk b 7 0 && mkfifo /data/fifo && chown 1000:100 /data/a && chmod 4750 /data/a" +
    " && echo old > /data/keep/old && echo bye > /etc/gone && chmod 1777 /data/sub && printf '#!/bin/sh\\nexit ${1:-0}\\n' > /smoke-test && chmod 755 /smoke-test"]));
  ok(podman.run(undefined, ["commit", "-q", "l2", "localhost/l2"]));
  ok(podman.run("runc", ["run", "--network", "none", "--name", "l3", "localhost/l2", "sh", "-c",
    "rm /etc/gone && rm -rf /data/keep && mkdir /data/keep && echo new > /data/keep/new && rm /bin/ls && echo app:x:1234:1234::/data:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group"]));
  ok(podman.run(undefined, ["commit", "-q", "--change", "CMD=[\"/bin/sh\"]", "--change", "ENV=GREETING=hello", "--change", "WORKDIR=/data", "--change", "LABEL=org.example.ci=yes", "l3", "localhost/app"]));
  ok(podman.run(undefined, ["save", "--format", "oci-archive", "-o", archive.oci, "localhost/app"], { timeoutMs: 120_000 }));
  ok(podman.run(undefined, ["save", "--format", "oci-dir", "-o", archive.dir, "localhost/app"], { timeoutMs: 120_000 }));
  ok(podman.run(undefined, ["save", "--format", "docker-archive", "-o", archive.docker, "localhost/app"], { timeoutMs: 120_000 }));
}, 300_000);

afterAll(() => {
  if (skip) return;
  podman?.cleanup();
  bunc(["image", "prune"]);
  const left = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(work));
  for (const l of left) sh(["umount", "-l", l.split(" ")[4]!]);
  rmSync(work, { recursive: true, force: true });
  delete process.env.STORAGE_DRIVER;
  expect(left).toEqual([]);
});

describe.skipIf(!!skip)("image unpack", () => {
  let umociTree: string[];
  beforeAll(() => {
    const r = sh(["umoci", "unpack", "--image", `${archive.dir}:localhost/app:latest`, path.join(work, "umoci")], { timeoutMs: 120_000 });
    expect(r.stderr + `(${r.code})`).toEndWith("(0)");
    umociTree = tree(path.join(work, "umoci/rootfs"));
  });

  for (const [name, ref] of [["oci-archive", () => `oci-archive:${archive.oci}`], ["oci", () => `oci:${archive.dir}:localhost/app:latest`], ["docker-archive", () => `docker-archive:${archive.docker}`]] as const) {
    test(`${name}: the same rootfs as umoci unpack (files, types, modes, owners, links, devices, xattrs, mtimes)`, () => {
      const bundle = path.join(work, `unpack-${name}`);
      const r = bunc(["image", "unpack", ref(), bundle]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const mine = tree(path.join(bundle, "rootfs"));
      expect(mine).toEqual(umociTree);
      // What the layers did is there: the whiteouts' deletions, the device, the set-id bit, the xattr.
      expect(mine.some((l) => l.startsWith("etc/gone "))).toBe(false);
      expect(mine.some((l) => l.startsWith("bin/ls "))).toBe(false);
      expect(mine.some((l) => l.startsWith("data/keep/old "))).toBe(false);
      expect(mine.find((l) => l.startsWith("data/chr "))).toContain("mode=20644");
      expect(mine.find((l) => l.startsWith("data/a "))).toContain("mode=104750 1000:100");
      expect(mine.find((l) => l.startsWith("data/hard "))).toContain("same-as=data/a");
      expect(mine).toContain("etc/marked user.bunc b'hello'");
      const config = JSON.parse(readFileSync(path.join(bundle, "config.json"), "utf8"));
      expect(config.process.args).toEqual(["/bin/sh"]);
      expect(config.process.cwd).toBe("/data");
      expect(config.process.env).toContain("GREETING=hello");
      expect(config.annotations["org.example.ci"]).toBe("yes");
      // The rest is bunc spec's default.
      expect(config.linux.maskedPaths).toContain("/proc/kcore");
      rmSync(bundle, { recursive: true, force: true });
    });
  }

  test("gzip and zstd layers (podman push --compression-format): the same rootfs as umoci's of the uncompressed image", () => {
    for (const [format, ref] of [["gzip", `oci-archive:${path.join(work, "app-gzip.tar")}`], ["zstd", `oci:${path.join(work, "app-zstd")}:app`]] as const) {
      const r = podman.run(undefined, ["push", "--compression-format", format, "localhost/app", ref], { timeoutMs: 120_000 });
      expect(r.stderr + `(${r.code})`).toEndWith("(0)");
      const layout = ref.startsWith("oci:") ? path.join(work, "app-zstd") : undefined;
      if (layout) expect(readFileSync(path.join(layout, "blobs/sha256", JSON.parse(readFileSync(path.join(layout, "index.json"), "utf8")).manifests[0].digest.slice(7)), "utf8")).toContain("tar+zstd");
      const bundle = path.join(work, `unpack-${format}`);
      const u = bunc(["image", "unpack", ref, bundle]);
      expect(u.stderr).toBe("");
      expect(tree(path.join(bundle, "rootfs"))).toEqual(umociTree);
      rmSync(bundle, { recursive: true, force: true });
    }
  });

  test("an image index is followed to the linux/amd64 manifest; handmade gzip and zstd layers", () => {
    for (const compress of ["gzip", "zstd"] as const) {
      const layout = path.join(work, `index-${compress}`);
      makeLayout(layout, [makeTar([{ name: "hello", body: compress }])], { compress, platformIndex: true });
      const bundle = path.join(work, `index-bundle-${compress}`);
      const r = bunc(["image", "unpack", `oci:${layout}:latest`, bundle]);
      expect(r.stderr).toBe("");
      expect(readFileSync(path.join(bundle, "rootfs/hello"), "utf8")).toBe(compress);
      rmSync(bundle, { recursive: true, force: true });
      rmSync(layout, { recursive: true, force: true });
    }
  });

  test("a bundle that already has a rootfs is refused, and left as it was", () => {
    const bundle = path.join(work, "exists");
    mkdirSync(path.join(bundle, "rootfs"), { recursive: true });
    const r = bunc(["image", "unpack", `oci-archive:${archive.oci}`, bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(path.join(bundle, "rootfs"))).toEqual([]);
  });
});

describe.skipIf(!!skip)("hostile images are refused with one line and nothing written outside", () => {
  const outside = path.join(work, "outside");
  const cases: [string, Uint8Array[], { tamper?: "digest" | "size" }, RegExp][] = [
    ["path traversal", [makeTar([{ name: "../../../outside/pwned", body: "x" }])], {}, /'\.\.' in its name/],
    ["an absolute name", [makeTar([{ name: `${path.join(work, "outside")}/pwned`, body: "x" }])], {}, /absolute name/],
    ["a symlink, then a write through it", [makeTar([{ name: "evil", type: "symlink", linkname: path.join(work, "outside") }, { name: "evil/pwned", body: "x" }])], {}, /resolves outside the root/],
    ["a relative symlink out, then a write through it", [makeTar([{ name: "a", type: "dir" }, { name: "a/evil", type: "symlink", linkname: "../../../../../../outside" }, { name: "a/evil/pwned", body: "x" }])], {}, /resolves outside the root/],
    ["a symlink in one layer, a write through it in the next", [makeTar([{ name: "evil", type: "symlink", linkname: path.join(work, "outside") }]), makeTar([{ name: "evil/pwned", body: "x" }])], {}, /resolves outside the root/],
    ["a hardlink to outside", [makeTar([{ name: "pwned", type: "hardlink", linkname: "../../../outside/victim" }])], {}, /hardlink .* outside the root/],
    ["a hardlink through a symlink to outside", [makeTar([{ name: "evil", type: "symlink", linkname: path.join(work, "outside") }, { name: "pwned", type: "hardlink", linkname: "evil/victim" }])], {}, /resolves outside the root/],
    ["a layer with a wrong digest", [makeTar([{ name: "f", body: "x" }])], { tamper: "digest" }, /digest sha256:[0-9a-f]+ where sha256:[0-9a-f]+ was expected/],
    ["a layer with a wrong size", [makeTar([{ name: "f", body: "x" }])], { tamper: "size" }, /bytes where its descriptor says/],
  ];
  for (const [name, layers, opts, message] of cases) {
    test(name, () => {
      rmSync(outside, { recursive: true, force: true });
      mkdirSync(outside);
      writeFileSync(path.join(outside, "victim"), "victim\n");
      const layout = path.join(work, "hostile");
      rmSync(layout, { recursive: true, force: true });
      makeLayout(layout, layers, opts);
      const bundle = path.join(work, "hostile-bundle");
      const r = bunc(["image", "unpack", `oci:${layout}`, bundle]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(1);
      expect(readdirSync(outside)).toEqual(["victim"]);
      expect(readFileSync(path.join(outside, "victim"), "utf8")).toBe("victim\n");
      expect(existsSync(bundle)).toBe(false);
      // image run refuses it the same way and caches nothing of it — but for the symlink of another layer:
      // each layer is unpacked in a directory of its own, where that symlink is not, so nothing can escape.
      const run = bunc(["image", "run", "--rm", `oci:${layout}`, "/no-such-command"]);
      if (layers.length === 1) expect(run.stderr).toMatch(message);
      expect(run.code).not.toBe(0);
      expect(readdirSync(outside)).toEqual(["victim"]);
      expect(existsSync(path.join(root, "images/tmp")) ? readdirSync(path.join(root, "images/tmp")) : []).toEqual([]);
      expect(existsSync(path.join(root, "images/runs")) ? readdirSync(path.join(root, "images/runs")) : []).toEqual([]);
      rmSync(layout, { recursive: true, force: true });
    });
  }

  test("an opaque directory hides the lower layers' entries, not its own layer's", () => {
    const layout = path.join(work, "opaque");
    makeLayout(layout, [
      makeTar([{ name: "d", type: "dir" }, { name: "d/lower", body: "1" }]),
      makeTar([{ name: "d", type: "dir" }, { name: "d/mine", body: "2" }, { name: "d/.wh..wh..opq" }]),
    ], { config: { Cmd: ["/bin/ls"] } });
    const bundle = path.join(work, "opaque-bundle");
    const r = bunc(["image", "unpack", `oci:${layout}`, bundle]);
    expect(r.stderr).toBe("");
    expect(readdirSync(path.join(bundle, "rootfs/d"))).toEqual(["mine"]);
    rmSync(bundle, { recursive: true, force: true });
    rmSync(layout, { recursive: true, force: true });
  });
});

describe.skipIf(!!skip)("image run", () => {
  const ref = () => `oci-archive:${archive.oci}`;
  const runsLeft = () => (existsSync(path.join(root, "images/runs")) ? readdirSync(path.join(root, "images/runs")) : []);
  const overlaysLeft = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(root));

  test("the CI use: a smoke test's exit status passes through (0 and 3), output streamed", () => {
    const ok = bunc(["image", "run", "--rm", ref(), "--", "/smoke-test"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const three = bunc(["image", "run", "--rm", ref(), "--", "/smoke-test", "3"]);
    expect(three.code).toBe(3);
    const out = bunc(["image", "run", "--rm", ref(), "sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
    expect(out.stdout).toBe("to-stdout\n");
    expect(out.stderr).toBe("to-stderr\n");
  });

  test("--rm leaves nothing: no overlay mount, no run directory, no container state", () => {
    const r = bunc(["image", "run", "--rm", "--name", "rm-test", ref(), "sh", "-c", "echo x > /written; cat /written"]);
    expect(r.stdout).toBe("x\n");
    expect(runsLeft()).toEqual([]);
    expect(overlaysLeft()).toEqual([]);
    expect(existsSync(path.join(root, "rm-test"))).toBe(false);
    // A fresh upper per run: the file written by the last run is not there.
    expect(bunc(["image", "run", "--rm", ref(), "test", "-e", "/written"]).code).toBe(1);
  });

  test("without --rm the upper directory stays (unmounted) until image prune", () => {
    expect(bunc(["image", "run", "--name", "keep-test", ref(), "sh", "-c", "echo kept > /kept"]).code).toBe(0);
    expect(overlaysLeft()).toEqual([]);
    expect(readFileSync(path.join(root, "images/runs/keep-test/upper/kept"), "utf8")).toBe("kept\n");
    const p = bunc(["image", "prune"]);
    expect(p.stdout).toContain("removed run keep-test");
    expect(runsLeft()).toEqual([]);
  });

  test("-e, -w, -u (number and name from the image's passwd), -v (rw and ro), the image's Env, WorkingDir", () => {
    const host = path.join(work, "vol");
    mkdirSync(host, { recursive: true, mode: 0o777 });
    sh(["chmod", "777", host]);
    writeFileSync(path.join(host, "in"), "from-host\n");
    const r = bunc(["image", "run", "--rm", "-e", "K=V", "-w", "/tmp", "-u", "1234:5", "-v", `${host}:/vol`, "-v", `${host}:/ro:ro`, ref(),
      "sh", "-c", "echo $K $GREETING; pwd; id -u; id -g; cat /vol/in; echo out > /vol/out; echo no > /ro/no || echo ro-refused"]);
    expect(r.stdout).toBe("V hello\n/tmp\n1234\n5\nfrom-host\nro-refused\n");
    expect(readFileSync(path.join(host, "out"), "utf8")).toBe("out\n");
    const d = bunc(["image", "run", "--rm", "-u", "app", ref(), "sh", "-c", "pwd; id -un"]);
    expect(d.stdout).toBe("/data\napp\n");
  });

  test("--network none has only loopback, host has the host's interfaces", () => {
    // (The image has no ls: its last layer removed it.)
    const none = bunc(["image", "run", "--rm", ref(), "sh", "-c", "cd /sys/class/net && echo *"]);
    expect(none.stdout.trim()).toBe("lo");
    // The host's interfaces may come and go meanwhile (another run's veths): what stood before and
    // after the run must be seen, and nothing the host never had.
    const before = readdirSync("/sys/class/net");
    const host = bunc(["image", "run", "--rm", "--network", "host", ref(), "sh", "-c", "cd /sys/class/net && echo *"]);
    const after = readdirSync("/sys/class/net");
    const seen = host.stdout.trim().split(" ");
    expect(before.filter((i) => after.includes(i)).filter((i) => !seen.includes(i))).toEqual([]);
    expect(seen.filter((i) => !before.includes(i) && !after.includes(i))).toEqual([]);
    // With the host's network, the host's name resolution (read-only).
    if (existsSync("/etc/resolv.conf")) {
      const resolv = bunc(["image", "run", "--rm", "--network", "host", ref(), "sh", "-c", "cat /etc/resolv.conf; echo x >> /etc/resolv.conf || echo ro"]);
      expect(resolv.stdout).toBe(readFileSync("/etc/resolv.conf", "utf8") + "ro\n");
    }
  });

  test("-t: the command gets a terminal, its exit status still passes through", () => {
    if (!which("script")) return console.warn("script(1) is not installed: -t is not checked");
    const cmd = `${BUNC} --root ${root} image run --rm -t oci-archive:${archive.oci} sh -c 'tty; echo TERM=$TERM; exit 5'`;
    const r = sh(["script", "-qec", cmd, "/dev/null"], { timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toContain("TERM=xterm");
    expect(r.code).toBe(5);
  });

  test("killed: exit status 137, and the overlay is gone all the same", async () => {
    const proc = Bun.spawn([BUNC, "--root", root, "image", "run", "--rm", "--name", "kill-test", ref(), "sleep", "100"], { stdout: "pipe", stderr: "pipe" });
    // Wait for the container to run (its state), then kill it from outside, as a CI timeout would.
    for (let i = 0; i < 600 && !bunc(["state", "kill-test"]).stdout.includes('"running"'); i++) await Bun.sleep(50);
    // prune meanwhile removes neither the running container's layers nor its run directory.
    const layers = readdirSync(path.join(root, "images/layers/sha256")).sort();
    expect(bunc(["image", "prune"]).stdout).toBe("");
    expect(readdirSync(path.join(root, "images/layers/sha256")).sort()).toEqual(layers);
    expect(runsLeft()).toEqual(["kill-test"]);
    expect(bunc(["kill", "kill-test", "KILL"]).code).toBe(0);
    expect(await proc.exited).toBe(137);
    expect(overlaysLeft()).toEqual([]);
    expect(runsLeft()).toEqual([]);
  });

  test("concurrent first runs of one image share the cache: each layer unpacked once, every run complete", async () => {
    const fresh = path.join(work, "root-concurrent");
    const procs = [0, 1, 2, 3].map(() => Bun.spawn([BUNC, "--root", fresh, "image", "run", "--rm", `docker-archive:${archive.docker}`, "sh", "-c", "ls /data/keep; test ! -e /bin/ls"], { stdout: "pipe", stderr: "pipe" }));
    const results = await Promise.all(procs.map(async (p) => [await p.exited, await new Response(p.stdout).text(), await new Response(p.stderr).text()]));
    for (const r of results) expect(r).toEqual([0, "new\n", ""]);
    expect(readdirSync(path.join(fresh, "images/layers/sha256")).filter((n) => !n.includes(".")).length).toBe(3);
    expect(readdirSync(path.join(fresh, "images/tmp"))).toEqual([]);
    const ls = sh([BUNC, "--root", fresh, "image", "ls"]);
    expect(ls.stdout).toContain(`docker-archive:${archive.docker}`);
    expect(sh([BUNC, "--root", fresh, "image", "prune"]).code).toBe(0);
    expect(readdirSync(path.join(fresh, "images/layers/sha256"))).toEqual([]);
    rmSync(fresh, { recursive: true, force: true });
  });

  test("bad input: one line, non-zero, nothing left", () => {
    for (const args of [["image", "run", "nope:x"], ["image", "run", `oci-archive:${path.join(work, "missing.tar")}`], ["image", "run", "--network", "bridge", ref()], ["image", "run", "-v", "relative", ref()], ["image", "frob"]]) {
      const r = bunc(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(runsLeft()).toEqual([]);
    expect(overlaysLeft()).toEqual([]);
  });
});
