#!/usr/bin/env bun
/**
 * Write bunc's man pages (dist/man/man1/bunc.1, bunc-VERB.1) and shell
 * completions (dist/completions/bunc.bash, _bunc, bunc.fish) from the verbs'
 * citty definitions — the same text `bunc help VERB` prints. Run by
 * scripts/build.ts; `bun scripts/docs.ts [OUTDIR]` on its own.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import type { ArgsDef, CommandDef } from "citty";
import { globalArgs } from "../src/cli/globals";
import { commandText, type CommandText } from "../src/cli/help";
import { bashCompletion, fishCompletion, manPage, zshCompletion } from "../src/cli/docs";
import { BUNC_DESCRIPTION, verbs } from "../src/cli/verbs";
import { VERSION } from "../src/version";

/** Write every page and completion under out; returns the files written. */
export async function writeDocs(out: string): Promise<string[]> {
  const main: CommandText = { name: "bunc", description: BUNC_DESCRIPTION, args: globalArgs as ArgsDef };
  const defs = await Promise.all(Object.values(verbs).map((load) => load()));
  const all = defs.map(commandText);
  // A verb with subcommands (image) lists them on its page, and each gets a page of its own: bunc-image-run(1).
  const subs = await Promise.all(defs.map(async (d) => Promise.all(Object.values((d.subCommands ?? {}) as Record<string, () => Promise<CommandDef<any>>>).map(async (load) => commandText(await load())))));
  const files: [string, string][] = [
    ["man/man1/bunc.1", manPage(main, VERSION, undefined, all)],
    ...all.map((v, i): [string, string] => [`man/man1/bunc-${v.name}.1`, manPage(v, VERSION, main, subs[i]!.length ? subs[i] : undefined)]),
    ...all.flatMap((v, i) => subs[i]!.map((s): [string, string] => [`man/man1/bunc-${v.name}-${s.name}.1`, manPage(s, VERSION, { name: `bunc ${v.name}`, description: "", args: {} })])),
    ["completions/bunc.bash", bashCompletion(main, all)],
    ["completions/_bunc", zshCompletion(main, all)],
    ["completions/bunc.fish", fishCompletion(main, all)],
  ];
  for (const [name, text] of files) {
    mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
    writeFileSync(path.join(out, name), text);
  }
  return files.map(([name]) => path.join(out, name));
}

if (import.meta.main) {
  const out = process.argv[2] ?? path.join(import.meta.dir, "../dist");
  console.log(`wrote ${(await writeDocs(out)).length} files under ${out}`);
}
