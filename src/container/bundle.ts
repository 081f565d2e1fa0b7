/** Reading a bundle's config.json. */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { parseConfigText, type Spec } from "../spec/config";

/** The validated config.json of the bundle directory. */
export function loadBundle(bundle: string): Spec {
  const file = path.join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "EIO";
    const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new BuncError(`cannot read ${file}: ${why}`, { code });
  }
  const spec = parseConfigText(text);
  debug.log?.(`config loaded: ${file} (ociVersion ${spec.ociVersion})`);
  return spec;
}

/**
 * The rootfs of a bundle's config, checked as runc checks it (specconv's
 * "root must be specified", the validator's rootfs): a directory reached
 * without a symlink in root.path — a relative root.path from the bundle's
 * real path, an absolute one as written.
 */
export function rootfsOf(bundle: string, spec: Spec): string {
  if (!spec.root) throw new BuncError("root must be specified: config.json has no root (root.path names the container's root filesystem)", { code: "CONFIG" });
  const rootfs = path.resolve(bundle, spec.root.path);
  let real: string;
  try {
    if (!statSync(rootfs).isDirectory()) throw new Error("not a directory");
    real = realpathSync(rootfs);
  } catch {
    throw new BuncError(`rootfs (${JSON.stringify(rootfs)}) does not exist or is not a directory`, { code: "ENOENT" });
  }
  const expected = path.isAbsolute(spec.root.path) ? path.resolve(spec.root.path) : path.resolve(realpathSync(bundle), spec.root.path);
  if (real !== expected)
    throw new BuncError(`invalid rootfs: not an absolute path, or a symlink: root.path ${JSON.stringify(spec.root.path)} leads to ${JSON.stringify(real)}`, { code: "CONFIG" });
  return rootfs;
}
