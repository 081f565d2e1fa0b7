import { defineCommand } from "citty";
import { existsSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { defaultSpec } from "../spec/default";
import { checkFlags } from "./args";

const args = {
  bundle: { type: "string", alias: "b", description: "path to the root of the bundle directory", default: "." },
  rootless: { type: "boolean", description: "generate a configuration for a rootless container" },
} as const;

export default defineCommand({
  meta: { name: "spec", description: "create a new specification file (config.json)" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const file = path.join(a.bundle, "config.json");
    if (existsSync(file)) throw new BuncError(`File ${file} exists. Remove it first`, { code: "EEXIST" });
    const spec = defaultSpec({ rootless: a.rootless, uid: process.getuid?.(), gid: process.getgid?.() });
    writeFileSync(file, JSON.stringify(spec, null, "\t"));
  },
});
