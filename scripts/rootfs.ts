#!/usr/bin/env bun
/**
 * Make a busybox bundle: DIR/rootfs from Debian's busybox-static (/bin/busybox
 * and a symlink per applet) and DIR/config.json from runc's default spec,
 * made runnable without a terminal and with the given args.
 *   bun scripts/rootfs.ts DIR [ARGS...]
 */
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { defaultSpec } from "../src/spec/default";

const BUSYBOX = "/bin/busybox";

/** Create a busybox rootfs at dir/rootfs (if missing) and write dir/config.json. */
export function makeBundle(dir: string, args: string[] = ["sh"]): void {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const rootfs = path.join(dir, "rootfs");
  if (!existsSync(path.join(rootfs, "bin/busybox"))) {
    for (const d of ["bin", "dev", "etc", "proc", "sys", "tmp", "root", "usr/bin", "sbin", "usr/sbin"]) mkdirSync(path.join(rootfs, d), { recursive: true });
    copyFileSync(BUSYBOX, path.join(rootfs, "bin/busybox"));
    const list = Bun.spawnSync([BUSYBOX, "--list-full"]).stdout.toString().split("\n").filter(Boolean);
    for (const applet of list) {
      const link = path.join(rootfs, applet);
      if (applet === "bin/busybox" || existsSync(link)) continue;
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync("/bin/busybox", link);
    }
    writeFileSync(path.join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    writeFileSync(path.join(rootfs, "etc/group"), "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n");
  }
  const spec = defaultSpec() as { process: { terminal: boolean; args: string[] } };
  spec.process.terminal = false;
  spec.process.args = args;
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(spec, null, 2));
}

if (import.meta.main) {
  const [dir, ...args] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: bun scripts/rootfs.ts DIR [ARGS...]");
    process.exit(2);
  }
  makeBundle(path.resolve(dir), args.length ? args : undefined);
  console.log(`bundle ready in ${path.resolve(dir)}`);
}
