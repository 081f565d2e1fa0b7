#!/usr/bin/env bun
/**
 * Build dist/bunc: one executable from `bun build --compile`. It must never
 * read .env or bunfig.toml from its working directory — runc's callers run
 * it with the (untrusted) bundle as cwd — hence the two --no-compile-autoload
 * flags. Stops on the first failure.
 */
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
await $`mkdir -p ${root}dist`;
await $`bun build --compile --minify --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig ${root}src/cli/main.ts --outfile ${root}dist/bunc`.cwd(root);
console.log(`built ${root}dist/bunc`);
