/**
 * Bun.build's options for bunc's executable, shared by scripts/build.ts and the
 * benchmark's floor (scripts/_bench/floor.ts: a hello-world compiled the same way,
 * so the two differ only in what bunc's own code costs).
 */
export const COMPILE_OPTIONS = {
  // bunc must never read .env or bunfig.toml from its working directory — runc's callers
  // run it with the (untrusted) bundle as cwd.
  autoloadDotenv: false,
  autoloadBunfig: false,
  // Every bunc command is a burst of run-once code: tiering it up in JavaScriptCore's
  // JIT is wasted work. 100× the tier-up thresholds: `run` 16.4 → 14.1 ms, `state`
  // 6.3 → 5.5 ms on this host (the plateau starts near 20×); nothing bunc runs for
  // long is JavaScript-heavy (the terminal proxy and waits are in the executor).
  jitPolicy: 100,
} as const;

/**
 * The rest of the build's options that change what the executable does at start.
 * ESM with splitting: each lazily imported verb (src/cli/verbs.ts) is its own chunk,
 * decoded only when it runs. One CommonJS file (the default for bytecode) is decoded
 * whole at every start: `--version` cost 1.22× a compiled hello-world with it, 1.02×
 * split (interleaved medians, 150 rounds, this host under load 12); a hello-world
 * carrying `run`'s code behind an import() it never takes cost 1.20× as one file and
 * 1.00× split.
 */
export const BUNDLE_OPTIONS = { minify: true, bytecode: true, format: "esm", splitting: true } as const;
