/**
 * The executable stands alone: it runs with an empty environment on a root
 * filesystem that has nothing but it and glibc (no Node, no Bun), and it
 * never loads a bunfig.toml or .env from its working directory (runc's
 * callers run it inside the untrusted bundle).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";

const skip = integrationSkipReason();

/** The shared libraries dist/bunc links, as ldd lists them. */
function linkedLibraries(): string[] {
  const out = sh(["ldd", BUNC]).stdout;
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!);
}

describe.skipIf(!!skip)("standalone executable", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("links nothing but glibc", () => {
    const libs = linkedLibraries().map((l) => path.basename(l));
    expect(libs.length).toBeGreaterThan(0);
    for (const lib of libs) expect(lib).toMatch(/^(libc|libm|libdl|libpthread|ld-linux-x86-64)\.so/);
  });

  test("runs with an empty environment in a rootfs holding only itself and glibc", () => {
    const bundle = sb.bundle(["/bunc", "--version"], (c) => {
      c.process.env = [];
      c.root.readonly = false;
    });
    const rootfs = path.join(sb.dir, "bare-rootfs");
    mkdirSync(rootfs);
    copyFileSync(BUNC, path.join(rootfs, "bunc"));
    sh(["chmod", "755", path.join(rootfs, "bunc")]);
    for (const lib of linkedLibraries()) {
      mkdirSync(path.join(rootfs, path.dirname(lib)), { recursive: true });
      copyFileSync(lib, path.join(rootfs, lib));
    }
    for (const d of ["proc", "dev", "sys", "tmp"]) mkdirSync(path.join(rootfs, d), { recursive: true });
    expect(existsSync(path.join(rootfs, "bin"))).toBe(false);
    const config = JSON.parse(readFileSync(path.join(bundle, "config.json"), "utf8"));
    config.root.path = rootfs;
    writeFileSync(path.join(bundle, "config.json"), JSON.stringify(config));
    const r = sb.bunc(["run", "-b", bundle, sb.id()]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith("bunc version ");
    expect(r.code).toBe(0);
  });

  test("ignores bunfig.toml and .env in its working directory", () => {
    const dir = path.join(sb.dir, "hostile-cwd");
    mkdirSync(dir);
    const marker = path.join(dir, "preloaded");
    writeFileSync(path.join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");`);
    writeFileSync(path.join(dir, "bunfig.toml"), `preload = ["./evil.ts"]\n`);
    writeFileSync(path.join(dir, ".env"), "BUNC_TEST_FROM_DOTENV=1\n");
    const r = sh([BUNC, "--version"], { cwd: dir, env: {} });
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
