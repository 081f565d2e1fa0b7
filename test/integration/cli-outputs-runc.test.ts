/**
 * The small outputs callers read, next to runc's: `features` key by key,
 * `--version` line by line (version.bats), and the ociVersion `spec` writes
 * against the spec version `--version` claims.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, REPO, RUNC, sh } from "../harness";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping CLI output tests: ${skip}`);
const noRunc = RUNC ? undefined : "runc is not installed: its side is not compared";
if (noRunc) console.warn(noRunc);

type Json = Record<string, any>;
const json = (cmd: string[]): Json => JSON.parse(sh(cmd).stdout);
const sorted = (a: string[]) => [...a].sort();

describe.skipIf(!!skip)("features next to runc's", () => {
  const bunc = json([BUNC, "features"]);
  const runc = RUNC ? json([RUNC, "features"]) : undefined;

  test("cgroup: v1, v2 and systemd as runc says; no systemd --user driver (runc has one)", () => {
    expect(bunc.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: false, rdma: true });
    if (!runc) return console.warn(noRunc);
    expect([bunc.linux.cgroup.v1, bunc.linux.cgroup.v2]).toEqual([runc.linux.cgroup.v1, runc.linux.cgroup.v2]);
  });

  test("every mount option, namespace, seccomp arch runc recognizes, bunc does too; hooks, capabilities, actions, operators are runc's", () => {
    expect(bunc.mountOptions).toEqual(expect.arrayContaining(["acl", "noacl"]));
    if (!runc) return console.warn(noRunc);
    expect(bunc.mountOptions).toEqual(expect.arrayContaining(runc.mountOptions));
    expect(bunc.linux.namespaces).toEqual(expect.arrayContaining(runc.linux.namespaces));
    expect(bunc.linux.seccomp.archs).toEqual(expect.arrayContaining(runc.linux.seccomp.archs));
    expect(bunc.hooks).toEqual(runc.hooks);
    expect(bunc.linux.capabilities).toEqual(runc.linux.capabilities);
    expect(sorted(bunc.linux.seccomp.actions)).toEqual(sorted(runc.linux.seccomp.actions));
    expect(sorted(bunc.linux.seccomp.operators)).toEqual(sorted(runc.linux.seccomp.operators));
    for (const k of ["apparmor", "selinux"]) expect(bunc.linux[k], k).toEqual(runc.linux[k]);
    expect(bunc.linux.seccomp.enabled).toBe(runc.linux.seccomp.enabled);
  });

  test("annotations: runc's libseccomp key with the same version, bunc's own names for runc's version, commit, checkpoint", () => {
    const version = sh([BUNC, "--version"]).stdout;
    expect(bunc.annotations["org.opencontainers.bunc.version"]).toBe(/^bunc version (\S+)$/m.exec(version)![1]);
    expect(bunc.annotations["org.opencontainers.bunc.commit"]).toBe(/^commit: (\S+)$/m.exec(version)![1]);
    expect(bunc.annotations["org.opencontainers.bunc.checkpoint.enabled"]).toBe("true");
    expect(bunc.annotations["io.github.seccomp.libseccomp.version"]).toMatch(/^\d+\.\d+\.\d+$/);
    if (!runc) return console.warn(noRunc);
    expect(bunc.annotations["io.github.seccomp.libseccomp.version"]).toBe(runc.annotations["io.github.seccomp.libseccomp.version"]);
    const runcOwn = Object.keys(runc.annotations).filter((k) => k.startsWith("org.opencontainers.runc."));
    expect(runcOwn.length).toBeGreaterThan(0);
    for (const k of runcOwn) expect(Object.keys(bunc.annotations)).toContain(k.replace(".runc.", ".bunc."));
    expect(Object.keys(bunc.annotations)).toEqual(sorted(Object.keys(bunc.annotations)));
  });

  test("a host without libseccomp: seccomp disabled and no libseccomp annotation (bunc loads it at run time)", () => {
    const lib = /libseccomp\.so\.2 \(libc6,x86-64\) => (\S+)/.exec(sh(["ldconfig", "-p"]).stdout)?.[1];
    if (!lib) return console.warn("skipped: ldconfig lists no x86-64 libseccomp.so.2 to hide");
    // A private mount namespace where the library is /dev/null: dlopen fails as on a host without it.
    const r = sh(["unshare", "-m", "sh", "-c", `mount --bind /dev/null ${lib} && exec ${BUNC} features`]);
    expect(r.code, r.stderr).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f.linux.seccomp).toEqual({ enabled: false });
    expect(Object.keys(f.annotations)).not.toContain("io.github.seccomp.libseccomp.version");
  });

  test("ociVersionMax is the spec version --version claims", () => {
    expect(sh([BUNC, "--version"]).stdout).toContain(`\nspec: ${bunc.ociVersionMax}\n`);
  });
});

describe.skipIf(!!skip)("--version and spec", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("--version: runc's first lines (version, commit:, spec:), as version.bats checks them; the commit is git's at build time", () => {
    const lines = sh([BUNC, "--version"]).stdout.split("\n");
    expect(lines[0]).toMatch(/^bunc version \d+\.\d+\.\d+/);
    expect(lines[1]).toMatch(/^commit: \S+$/);
    expect(lines[2]).toMatch(/^spec: \d+\.\d+\.\d+$/);
    // The commit names one of this repository's (dist/bunc is built from it; "-dirty": with uncommitted changes).
    const commit = lines[1]!.slice("commit: ".length).replace(/-dirty$/, "");
    if (sh(["git", "-C", REPO, "rev-parse", "--git-dir"]).code === 0) expect(sh(["git", "-C", REPO, "cat-file", "-e", `${commit}^{commit}`]).code).toBe(0);
    else console.warn("the tree is not a git checkout: the commit is not checked");
    if (!RUNC) return console.warn(noRunc);
    const theirs = sh([RUNC, "--version"]).stdout.split("\n");
    expect([theirs[0], theirs[1], theirs[2]].map((l) => l!.split(/[: ]/)[0])).toEqual(["runc", "commit", "spec"]);
  });

  test("spec writes the ociVersion --version claims", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bunc-spec-version-"));
    dirs.push(dir);
    for (const args of [["spec"], ["spec", "--rootless", "-b", path.join(dir, "rootless")]]) {
      if (args.includes("--rootless")) sh(["mkdir", path.join(dir, "rootless")]);
      expect(sh([BUNC, ...args], { cwd: dir }).code).toBe(0);
    }
    const spec = /^spec: (\S+)$/m.exec(sh([BUNC, "--version"]).stdout)![1];
    expect(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).ociVersion).toBe(spec);
    expect(JSON.parse(readFileSync(path.join(dir, "rootless", "config.json"), "utf8")).ociVersion).toBe(spec);
  });
});
