/**
 * The floor: a hello-world compiled by the same Bun with bunc's build options
 * (scripts/build-options.ts), writing its line as bunc does (write(2) through
 * node:fs, src/cli/output.ts). What a bunc command costs above it is bunc's own.
 */
import { writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNDLE_OPTIONS, COMPILE_OPTIONS } from "../build-options";

/** Build the floor executable into dir; its path. */
export async function buildFloor(dir: string): Promise<string> {
  const src = path.join(dir, "floor.ts");
  const outfile = path.join(dir, "floor");
  writeFileSync(src, 'import { writeSync } from "node:fs";\nwriteSync(1, "hello, world\\n");\n');
  const r = await Bun.build({ entrypoints: [src], compile: { outfile, ...COMPILE_OPTIONS }, ...BUNDLE_OPTIONS, throw: false });
  if (!r.success) throw new Error(`the floor did not build: ${r.logs.join("; ")}`);
  return outfile;
}
