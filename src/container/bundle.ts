/** Reading a bundle's config.json. */
import { readFileSync } from "node:fs";
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
