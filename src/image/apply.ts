/**
 * Applying a layer's tar entries to a directory tree, safely: every entry's
 * parent is opened with openat2(2) RESOLVE_BENEATH from the root, and the
 * entry itself made with *at calls that never follow its final component,
 * so neither "..", an absolute name, a symlink planted by an earlier entry
 * or layer, nor a hardlink can make bunc write outside the root (the class
 * of CVE-2018-15664 / CVE-2019-14271 and umoci's CVE-2021-29136). An entry
 * that would resolve outside is refused, not re-rooted.
 *
 * Whiteouts (image-spec layer.md): "flat" mode deletes what they name (a
 * rootfs for `image unpack`); "overlay" mode writes them as overlayfs does
 * (a 0:0 character device; trusted.overlay.opaque=y on an opaque directory),
 * for a cached layer directory stacked by `image run`.
 */
import { chmodSync, chownSync, closeSync, fchmodSync, fchownSync, readdirSync, rmSync, utimesSync, writeSync } from "node:fs";
import { BuncError } from "../errors";
import {
  ENOENT, EXDEV, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_WRONLY, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO,
  fchmodAt, fchownAt, linkAt, lsetxattrAt, mkdirAt, mknodAt, openAt, openat2, symlinkAt, typeAt, unlinkAt, utimensAt,
} from "../linux/at";
import { errnoError } from "../linux/libc";
import type { TarEntry, TarHeader } from "./tar";

export type WhiteoutMode = "flat" | "overlay";

const WH = ".wh.";
const OPAQUE = ".wh..wh..opq";

function refuse(name: string, why: string): BuncError {
  return new BuncError(`entry ${JSON.stringify(name)}: ${why}`, { code: "EPERM" });
}

/** The components of an entry's name; refuses an absolute name or "..". */
export function entryPath(name: string): string[] {
  if (name.startsWith("/")) throw refuse(name, "absolute name");
  const parts = name.split("/").filter((c) => c !== "" && c !== ".");
  if (parts.includes("..")) throw refuse(name, "'..' in its name");
  return parts;
}

/** Writes entries beneath one root directory. */
class Writer {
  private rootFd: number;
  private cached?: { rel: string; fd: number };
  /** Directories whose mtime is set last (their children change it). */
  private dirTimes: [string[], number, number][] = [];
  /** Paths (and their parents) this layer made: an opaque whiteout spares them. */
  private made = new Set<string>();

  constructor(private root: string, private mode: WhiteoutMode) {
    this.rootFd = openAt(`open ${root}`, -100, root, O_PATH | O_DIRECTORY);
  }

  close(): void {
    this.dropCache();
    closeSync(this.rootFd);
  }

  private dropCache(): void {
    if (this.cached) closeSync(this.cached.fd);
    this.cached = undefined;
  }

  /** Forget a cached parent that `rel` (being replaced or removed) is, or contains. */
  private invalidate(rel: string): void {
    if (this.cached && (this.cached.rel === rel || this.cached.rel.startsWith(rel + "/"))) this.dropCache();
  }

  /** An O_PATH fd of the directory at parts beneath the root (made, 0755, where missing); the caller must not close it. */
  private parent(name: string, parts: string[]): number {
    if (parts.length === 0) return this.rootFd;
    const rel = parts.join("/");
    if (this.cached?.rel === rel) return this.cached.fd;
    let fd = openat2(this.rootFd, rel, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd === -ENOENT) {
      // Make the missing directories one by one, each resolved beneath the root again.
      for (let i = 1; i <= parts.length; i++) {
        const prefix = parts.slice(0, i).join("/");
        const r = openat2(this.rootFd, prefix, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
        if (r >= 0) {
          closeSync(r);
          continue;
        }
        if (r !== -ENOENT) {
          fd = r;
          break;
        }
        const up = this.parent(name, parts.slice(0, i - 1));
        mkdirAt(`mkdir ${prefix}`, up, parts[i - 1]!, 0o755);
        this.made.add(prefix);
      }
      if (fd === -ENOENT) fd = openat2(this.rootFd, rel, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    }
    if (fd === -EXDEV) throw refuse(name, `its parent ${JSON.stringify(rel)} resolves outside the root (through a symlink or '..')`);
    if (fd < 0) throw errnoError(`entry ${JSON.stringify(name)}: open parent ${JSON.stringify(rel)}`, -fd);
    this.dropCache();
    this.cached = { rel, fd };
    return fd;
  }

  /** Remove name in dir, a directory with everything in it too. */
  private remove(dir: number, base: string, rel: string): void {
    this.invalidate(rel);
    const t = typeAt(dir, base);
    if (t === 0) return;
    // rm -r through the directory's fd: the magic link names that very directory, and rmSync follows no symlink below it.
    if (t === S_IFDIR) rmSync(`/proc/self/fd/${dir}/${base}`, { recursive: true, force: true });
    else {
      const r = unlinkAt(dir, base);
      if (r < 0 && r !== -ENOENT) throw errnoError(`remove ${rel}`, -r);
    }
  }

  async entry(e: TarEntry): Promise<void> {
    const h = e.header;
    const parts = entryPath(h.name);
    if (parts.length === 0) {
      // The root itself ("./"): its metadata only.
      if (h.type !== "dir") throw refuse(h.name, "the root is not a directory");
      chownSync(this.root, h.uid, h.gid);
      chmodSync(this.root, h.mode);
      this.dirTimes.push([[], h.mtime, h.mtimeNsec]);
      return;
    }
    const base = parts[parts.length - 1]!;
    const rel = parts.join("/");
    const up = parts.slice(0, -1);
    if (base.startsWith(WH)) return this.whiteout(h, up, base);
    const dir = this.parent(h.name, up);
    for (let i = 1; i <= parts.length; i++) this.made.add(parts.slice(0, i).join("/"));
    const existing = typeAt(dir, base);
    if (existing !== 0 && !(existing === S_IFDIR && h.type === "dir")) this.remove(dir, base, rel);
    const what = `entry ${JSON.stringify(h.name)}`;
    switch (h.type) {
      case "dir":
        if (existing !== S_IFDIR) mkdirAt(what, dir, base, 0o700);
        break;
      case "file": {
        const fd = openAt(what, dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of e.body) for (let put = 0; put < chunk.length; ) put += writeSync(fd, chunk, put);
          // chown first: it clears set-id bits and security.capability (chown(2)), which the mode and xattrs then set.
          fchownSync(fd, h.uid, h.gid);
          fchmodSync(fd, h.mode);
        } finally {
          closeSync(fd);
        }
        this.xattrs(h, dir, base);
        utimensAt(what, dir, base, h.mtime, h.mtimeNsec);
        return;
      }
      case "symlink":
        symlinkAt(what, h.linkname, dir, base);
        fchownAt(what, dir, base, h.uid, h.gid);
        utimensAt(what, dir, base, h.mtime, h.mtimeNsec);
        return;
      case "hardlink":
        return this.hardlink(h, dir, base);
      case "char":
      case "block":
      case "fifo":
        mknodAt(what, dir, base, (h.type === "char" ? S_IFCHR : h.type === "block" ? S_IFBLK : S_IFIFO) | 0o600, h.devmajor, h.devminor);
        break;
    }
    fchownAt(what, dir, base, h.uid, h.gid);
    fchmodAt(what, dir, base, h.mode);
    this.xattrs(h, dir, base);
    if (h.type === "dir") this.dirTimes.push([parts, h.mtime, h.mtimeNsec]);
    else utimensAt(what, dir, base, h.mtime, h.mtimeNsec);
  }

  private hardlink(h: TarHeader, dir: number, base: string): void {
    let target: string[];
    try {
      target = entryPath(h.linkname);
    } catch {
      throw refuse(h.name, `hardlink to ${JSON.stringify(h.linkname)} outside the root`);
    }
    if (target.length === 0) throw refuse(h.name, "hardlink to the root");
    // The target's parent is resolved beneath the root like any entry's; linkat(2) follows no final symlink.
    const fromRel = target.slice(0, -1).join("/");
    const from = fromRel === "" ? this.rootFd : openat2(this.rootFd, fromRel, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (from === -EXDEV) throw refuse(h.name, `hardlink target ${JSON.stringify(h.linkname)} resolves outside the root`);
    if (from < 0) throw errnoError(`entry ${JSON.stringify(h.name)}: hardlink target ${JSON.stringify(h.linkname)}`, -from);
    try {
      linkAt(`entry ${JSON.stringify(h.name)}: hardlink to ${JSON.stringify(h.linkname)}`, from, target[target.length - 1]!, dir, base);
    } finally {
      if (from !== this.rootFd) closeSync(from);
    }
  }

  private whiteout(h: TarHeader, up: string[], base: string): void {
    const dir = this.parent(h.name, up);
    const upRel = up.join("/");
    if (base === OPAQUE) {
      if (this.mode === "overlay") {
        lsetxattrAt(`entry ${JSON.stringify(h.name)}`, dir, ".", "trusted.overlay.opaque", new TextEncoder().encode("y"));
        return;
      }
      // Everything the lower layers put in this directory goes; what this layer made stays.
      for (const child of readdirSync(`/proc/self/fd/${dir}`)) {
        const rel = upRel ? `${upRel}/${child}` : child;
        if (!this.made.has(rel)) this.remove(dir, child, rel);
      }
      return;
    }
    const name = base.slice(WH.length);
    if (name === "" || name === "." || name === "..") throw refuse(h.name, "whiteout of no name");
    const rel = upRel ? `${upRel}/${name}` : name;
    this.remove(this.parent(h.name, up), name, rel);
    if (this.mode === "overlay") {
      const d = this.parent(h.name, up);
      mknodAt(`entry ${JSON.stringify(h.name)}`, d, name, S_IFCHR | 0o600, 0, 0);
    }
  }

  private xattrs(h: TarHeader, dir: number, base: string): void {
    for (const [key, value] of Object.entries(h.xattrs)) {
      // An image may not forge overlayfs' own markers in a cached layer (whiteouts come only from .wh. names).
      if (key.startsWith("trusted.overlay.")) continue;
      lsetxattrAt(`entry ${JSON.stringify(h.name)}: xattr ${key}`, dir, base, key, value);
    }
  }

  /** Directory mtimes, last, deepest first. */
  finish(): void {
    for (const [parts, sec, nsec] of this.dirTimes.sort((a, b) => b[0].length - a[0].length)) {
      if (parts.length === 0) {
        utimesSync(this.root, sec + nsec / 1e9, sec + nsec / 1e9);
        continue;
      }
      const dir = this.parent(parts.join("/"), parts.slice(0, -1));
      utimensAt(`mtime ${parts.join("/")}`, dir, parts[parts.length - 1]!, sec, nsec);
    }
  }
}

/** Apply one layer's entries to the tree at root. */
export async function applyLayer(root: string, entries: AsyncIterable<TarEntry>, mode: WhiteoutMode): Promise<void> {
  const w = new Writer(root, mode);
  try {
    for await (const e of entries) await w.entry(e);
    w.finish();
  } finally {
    w.close();
  }
}
