#!/usr/bin/env bun
/**
 * Build dist/bunc: one executable from `bun build --compile`. It must never
 * read .env or bunfig.toml from its working directory — runc's callers run
 * it with the (untrusted) bundle as cwd — hence the two --no-compile-autoload
 * flags. The C executor is compiled here by the system's C compiler into
 * dist/executor.so and embedded (ffi/executor.ts loads it), which saves the
 * ~4 ms a run-time TinyCC compile costs every create. -fno-strict-aliasing:
 * the executor reads one program buffer as headers, ops, strings and tables.
 * Stops on the first failure.
 */
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
$.cwd(root);
await $`mkdir -p dist`;
await $`cc -O2 -fno-strict-aliasing -fPIC -shared -Wall -Werror -Wno-unused-function -o dist/executor.so ffi/executor.c`;
await $`bun build --compile --minify --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig --asset-naming=[name].[ext] src/cli/main.ts dist/executor.so --outfile dist/bunc`;
console.log(`built ${root}dist/bunc`);
