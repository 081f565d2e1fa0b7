/**
 * The cache of unpacked layers, one directory per diff ID (content
 * addressed: the uncompressed layer's digest, verified while unpacking),
 * under ROOT/images/layers/ALGORITHM/HEX, in overlayfs' own whiteout format,
 * so `image run` stacks them as they are.
 *
 * Locks (flock(2)): ROOT/images/lock is held shared by whoever adds or
 * takes layers and exclusively by prune; each layer's HEX.lock is held
 * shared by every run that uses it (prune removes a layer only when it can
 * take that lock exclusively), HEX.unpack exclusively while it is unpacked.
 * A layer is unpacked into tmp/ and renamed into place complete, so no run
 * ever sees half of one; prune removes only layers no run holds.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { IMAGES_DIR } from "../container/store";
import { flock } from "../linux/fs";
import { parseDigest } from "./blob";
import type { Image, Layer } from "./manifest";
import { applyImageLayer } from "./unpack";

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

export class ImageCache {
  readonly dir: string;
  constructor(root: string) {
    this.dir = path.join(root, IMAGES_DIR);
  }

  layerDir(diffId: string): string {
    const { algorithm, hex } = parseDigest(diffId);
    return path.join(this.dir, "layers", algorithm, hex);
  }

  private lockFile(name: string): number {
    mkdirSync(path.dirname(name), { recursive: true, mode: 0o700 });
    return openSync(name, "a", 0o600);
  }

  /** Hold the cache shared (adding, using) or exclusively (pruning); close the fd to let go. */
  lockCache(exclusive: boolean): number {
    const fd = this.lockFile(path.join(this.dir, "lock"));
    flock(fd, exclusive ? LOCK_EX : LOCK_SH);
    return fd;
  }

  /**
   * Every layer of image unpacked in the cache; returns their directories
   * (bottom first) and the fds of their shared locks, held until the caller closes them.
   */
  async layers(image: Image, ref: string): Promise<{ dirs: string[]; locks: number[] }> {
    const cacheLock = this.lockCache(false);
    const locks: number[] = [];
    try {
      const dirs: string[] = [];
      for (const layer of image.layers) {
        const { dir, lock } = await this.layer(image, layer);
        dirs.push(dir);
        locks.push(lock);
      }
      this.record(image, ref);
      return { dirs, locks };
    } catch (e) {
      for (const fd of locks) closeSync(fd);
      throw e;
    } finally {
      closeSync(cacheLock);
    }
  }

  private async layer(image: Image, layer: Layer): Promise<{ dir: string; lock: number }> {
    const dir = this.layerDir(layer.diffId);
    // Taken shared first and held for the run: prune (exclusive, never waiting) leaves the layer alone.
    const lock = this.lockFile(`${dir}.lock`);
    try {
      flock(lock, LOCK_SH);
      if (!existsSync(dir)) {
        // The unpacking itself under a lock of its own, so a run that waits for it never waits for another's whole run.
        const unpacking = this.lockFile(`${dir}.unpack`);
        try {
          flock(unpacking, LOCK_EX);
          if (!existsSync(dir)) await this.unpackLayer(image, layer, dir);
        } finally {
          closeSync(unpacking);
        }
      }
      return { dir, lock };
    } catch (e) {
      closeSync(lock);
      throw e;
    }
  }

  /** Unpack into a private directory, renamed into place only when complete and verified. */
  private async unpackLayer(image: Image, layer: Layer, dir: string): Promise<void> {
    const tmp = path.join(this.dir, "tmp", `${path.basename(dir)}-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true, mode: 0o755 });
    try {
      await applyImageLayer(image, layer, tmp, "overlay");
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Remember which image (and by which reference) used the cache, for `image ls`. */
  private record(image: Image, ref: string): void {
    const { hex } = parseDigest(image.id);
    const file = path.join(this.dir, "images", `${hex}.json`);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const entry: ImageEntry = { id: image.id, reference: ref, layers: image.layers.map((l) => l.diffId), lastUsed: new Date().toISOString() };
    writeFileSync(`${file}.tmp-${process.pid}`, JSON.stringify(entry));
    renameSync(`${file}.tmp-${process.pid}`, file);
  }

  /** The images the cache holds layers of. */
  images(): ImageEntry[] {
    const dir = path.join(this.dir, "images");
    if (!existsSync(dir)) return [];
    const out: ImageEntry[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
      try {
        const e = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as ImageEntry;
        if (e.layers.every((l) => existsSync(this.layerDir(l)))) out.push(e);
      } catch {
        // Half-written or foreign: not an image.
      }
    }
    return out;
  }

  /** The size in bytes of cached trees (allocated blocks, as du). */
  size(dirs: string[]): number {
    let total = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        total += lstatSync(p).blocks * 512;
        if (e.isDirectory()) walk(p);
      }
    };
    for (const d of dirs) if (existsSync(d)) walk(d);
    return total;
  }

  /** Remove every layer no run holds, and what unfinished unpacks left; returns the layers removed. */
  prune(): string[] {
    const cacheLock = this.lockCache(true);
    try {
      rmSync(path.join(this.dir, "tmp"), { recursive: true, force: true });
      const removed: string[] = [];
      const layers = path.join(this.dir, "layers");
      for (const algorithm of existsSync(layers) ? readdirSync(layers) : []) {
        for (const name of readdirSync(path.join(layers, algorithm))) {
          if (name.endsWith(".lock") || name.endsWith(".unpack")) continue;
          const dir = path.join(layers, algorithm, name);
          const lock = this.lockFile(`${dir}.lock`);
          try {
            if (!flock(lock, LOCK_EX | LOCK_NB)) continue; // a run is using it
            rmSync(dir, { recursive: true, force: true });
            unlinkSync(`${dir}.lock`);
            rmSync(`${dir}.unpack`, { force: true });
            removed.push(`${algorithm}:${name}`);
          } finally {
            closeSync(lock);
          }
        }
      }
      const images = path.join(this.dir, "images");
      for (const f of existsSync(images) ? readdirSync(images) : []) {
        try {
          const e = JSON.parse(readFileSync(path.join(images, f), "utf8")) as ImageEntry;
          if (e.layers.some((l) => !existsSync(this.layerDir(l)))) rmSync(path.join(images, f), { force: true });
        } catch {
          rmSync(path.join(images, f), { force: true });
        }
      }
      return removed;
    } finally {
      closeSync(cacheLock);
    }
  }
}

export interface ImageEntry {
  id: string;
  reference: string;
  layers: string[];
  lastUsed: string;
}
