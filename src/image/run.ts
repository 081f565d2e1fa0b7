/**
 * `image run`: the image's layers from the cache, stacked read-only under a
 * fresh overlayfs upper directory of this run's own, a config.json
 * converted from the image config, and then bunc's own run of that bundle
 * (src/container/run.ts), in this process: exit status passed through,
 * stdout and stderr the container's. The overlay is unmounted on every way
 * out; with rm the run's directory goes too.
 */
import { closeSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { mountOverlay, unmount } from "../linux/overlay";
import { runContainer, type RunOptions } from "../container/run";
import type { Store } from "../container/store";
import { ImageCache } from "./cache";
import { runtimeConfig, type Overrides } from "./conversion";
import { openImage } from "./manifest";
import { parseReference } from "./reference";
import { lockRun, runsDir } from "./runs";

export interface ImageRunOptions extends Overrides {
  reference: string;
  /** The container's id (and its run directory's name); one is made up when not given. */
  id?: string;
  rm?: boolean;
  onWarning?: (msg: string) => void;
}

export async function runImage(store: Store, o: ImageRunOptions, run: (s: Store, r: RunOptions) => Promise<number> = runContainer): Promise<number> {
  const id = o.id ?? `image-${process.pid}-${Date.now().toString(36)}`;
  const cache = new ImageCache(store.root);
  const image = await openImage(parseReference(o.reference));
  let locks: number[] = [];
  const bundle = path.join(runsDir(store), id);
  const rootfs = path.join(bundle, "rootfs");
  let mounted = false;
  let made = false;
  let runLock: number | undefined;
  try {
    if (existsSync(bundle) || existsSync(store.dir(id))) throw new BuncError(`container ${id} exists`, { code: "EEXIST" });
    const layers = await cache.layers(image, o.reference);
    locks = layers.locks;
    made = true;
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    runLock = lockRun(bundle);
    for (const d of ["upper", "work", "rootfs"]) mkdirSync(path.join(bundle, d), { mode: 0o755 });
    // overlayfs takes at least one lower; lowerdir lists the topmost first.
    const lowers = layers.dirs.length ? [...layers.dirs].reverse() : [path.join(bundle, "empty")];
    if (!layers.dirs.length) mkdirSync(lowers[0]!, { mode: 0o755 });
    mountOverlay(rootfs, lowers, path.join(bundle, "upper"), path.join(bundle, "work"));
    mounted = true;
    const config = runtimeConfig(image.config, rootfs, o);
    writeFileSync(path.join(bundle, "config.json"), JSON.stringify(config));
    return await run(store, { id, bundle, onWarning: o.onWarning });
  } finally {
    image.source.close();
    if (mounted) unmount(rootfs);
    for (const fd of locks) closeSync(fd);
    // Without rm the run's upper directory stays for a look (and for `image prune`); the mount never does.
    if (made && (o.rm || !mounted)) rmSync(bundle, { recursive: true, force: true });
    if (runLock !== undefined) closeSync(runLock);
  }
}
