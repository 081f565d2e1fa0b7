#!/usr/bin/env bun
/**
 * Build dist/bunc: one executable from Bun.build with `compile`. It must never
 * read .env or bunfig.toml from its working directory — runc's callers run
 * it with the (untrusted) bundle as cwd — hence autoloadDotenv/autoloadBunfig
 * false. The C executor is compiled here by the system's C compiler into
 * dist/executor.so and embedded (ffi/executor.ts loads it), which saves the
 * ~4 ms a run-time TinyCC compile costs every create. -fno-strict-aliasing:
 * the executor reads one program buffer as headers, ops, strings and tables.
 * It is built to import nothing (see below).
 * citty's `node:util` import is pointed at src/cli/parse-args.ts (loading
 * node:util costs ~0.7 ms of every command; see that file).
 * Stops on the first failure.
 */
import { $, type BunPlugin } from "bun";
import { BUNDLE_OPTIONS, COMPILE_OPTIONS } from "./build-options";

const root = new URL("..", import.meta.url).pathname;
$.cwd(root);
await $`mkdir -p dist`;
// The executor's child may share bunc's memory and thread pointer (CLONE_VM): it must not call
// into libc or the dynamic loader. Freestanding, no libc, no loop turned into a memcpy call,
// no stack protector, every symbol bound at dlopen — and checked: no imports at all.
await $`cc -O2 -fno-strict-aliasing -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector -fPIC -shared -nostdlib -Wl,-z,now -Wl,--no-undefined -Wall -Werror -Wno-unused-function -o dist/executor.so ffi/executor.c`;
const imports = (await $`readelf --dyn-syms --wide dist/executor.so`.text()).split("\n").filter((l) => /\bUND\b/.test(l) && !/ 0: /.test(l));
if (imports.length > 0) throw new Error(`dist/executor.so imports symbols (the executor must be self-contained):\n${imports.join("\n")}`);

/**
 * citty's one use of node:util is parseArgs: give it ours. Bun's bundler
 * resolves node: builtins before plugins see them, so citty's source is
 * rewritten as it loads. A citty that imports it differently only costs the
 * time again: the build says so and goes on.
 */
const NODE_UTIL_IMPORT = 'import { parseArgs as parseArgs$1 } from "node:util";';
const cittyParseArgs: BunPlugin = {
  name: "citty-parse-args",
  setup(build) {
    build.onLoad({ filter: /[/\\]node_modules[/\\]citty[/\\]dist[/\\]index\.mjs$/ }, async ({ path }) => {
      const text = await Bun.file(path).text();
      if (!text.includes(NODE_UTIL_IMPORT)) console.warn(`warning: ${path} no longer has \`${NODE_UTIL_IMPORT}\`: node:util stays`);
      const ours = `import { parseArgs as parseArgs$1 } from ${JSON.stringify(`${root}src/cli/parse-args.ts`)};`;
      return { contents: text.replace(NODE_UTIL_IMPORT, () => ours), loader: "js" };
    });
  },
};

/**
 * The commit `--version` and `features` name, as runc's Makefile takes it
 * (git describe --dirty --long --always); empty outside git, which bunc
 * shows as "unknown" (src/version.ts).
 */
const described = await $`git describe --dirty --long --always`.cwd(root).nothrow().quiet();
const commit = described.exitCode === 0 ? described.stdout.toString().trim() : "";

const result = await Bun.build({
  entrypoints: [`${root}src/cli/main.ts`, `${root}dist/executor.so`],
  compile: { outfile: `${root}dist/bunc`, ...COMPILE_OPTIONS },
  ...BUNDLE_OPTIONS,
  naming: { asset: "[name].[ext]" },
  define: { BUNC_GIT_COMMIT: JSON.stringify(commit) },
  plugins: [cittyParseArgs],
  throw: false,
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
// Man pages and completions from the same definitions as the help text (scripts/docs.ts).
const { writeDocs } = await import("./docs");
await writeDocs(`${root}dist`);
console.log(`built ${root}dist/bunc, its man pages and completions`);
