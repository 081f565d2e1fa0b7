/**
 * `image unpack`: a runc bundle from an image, as `umoci unpack` makes one —
 * rootfs/ with every layer applied in order (whiteouts deleting), and
 * config.json converted from the image config. A failure leaves nothing.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { applyLayer, type WhiteoutMode } from "./apply";
import { runtimeConfig } from "./conversion";
import { layerStream } from "./layer";
import { openImage, type Image, type Layer } from "./manifest";
import { parseReference } from "./reference";
import { readTar } from "./tar";

/** Apply one layer of image to the tree at root, naming the layer in any error. */
export async function applyImageLayer(image: Image, layer: Layer, root: string, mode: WhiteoutMode): Promise<void> {
  try {
    await applyLayer(root, readTar(layerStream(image, layer)), mode);
  } catch (e) {
    const msg = (e as Error).message;
    throw new BuncError(`image layer ${layer.diffId}: ${msg}`, { code: (e as BuncError).code ?? "EIO", cause: e });
  }
}

/** Unpack the image ref names into a new bundle directory. */
export async function unpackImage(ref: string, bundle: string): Promise<void> {
  const image = await openImage(parseReference(ref));
  const dir = path.resolve(bundle);
  const rootfs = path.join(dir, "rootfs");
  if (existsSync(rootfs) || existsSync(path.join(dir, "config.json"))) {
    image.source.close();
    throw new BuncError(`bundle ${bundle} already has a rootfs or config.json`, { code: "EEXIST" });
  }
  const madeDir = !existsSync(dir);
  try {
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    for (const layer of image.layers) await applyImageLayer(image, layer, rootfs, "flat");
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(runtimeConfig(image.config, rootfs, { defaultCommand: true }), null, "\t"));
  } catch (e) {
    rmSync(madeDir ? dir : rootfs, { recursive: true, force: true });
    rmSync(path.join(dir, "config.json"), { force: true });
    throw e;
  } finally {
    image.source.close();
  }
}
