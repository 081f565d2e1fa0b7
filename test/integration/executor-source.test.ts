/**
 * The executor's two loaders: dist/bunc carries executor.so (compiled at
 * build time); run from source, bunc compiles ffi/executor.c with bun:ffi's
 * TinyCC at run time. Both must run the same container.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { posix as path } from "node:path";
import { integrationSkipReason, REPO, Sandbox, sh } from "../harness";

const skip = integrationSkipReason();

describe.skipIf(!!skip)("executor loaders", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());
  const script = "echo $(hostname) $$; cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs)'";

  test("from source (TinyCC at run time) and compiled (embedded executor.so) give the same container", () => {
    const bundle = sb.bundle(["sh", "-c", script]);
    const compiled = sb.bunc(["run", "-b", bundle, sb.id()]);
    const fromSource = sh([process.execPath, path.join(REPO, "src/cli/main.ts"), "--root", sb.root, "run", "-b", bundle, sb.id()]);
    expect(compiled.stderr).toBe("");
    expect(fromSource.stderr).toBe("");
    expect(fromSource.code).toBe(0);
    expect(fromSource.stdout).toBe(compiled.stdout);
    expect(compiled.stdout).toStartWith("bunc 1\n");
  });
});
