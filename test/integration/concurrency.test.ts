/**
 * Concurrency (issue 14): one container, ten bunc processes at once on the
 * same verb. Exactly one wins each state transition (start, pause, resume,
 * delete; create of one id), the others fail with one clear line, and the
 * state stays consistent; verbs that are not transitions (exec, kill,
 * delete -f) all succeed and leave nothing behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, Sandbox } from "../harness";
import { leftovers, waitStatus } from "./cli-helpers";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping the concurrency tests: ${skip}`);
const N = 10;

describe.skipIf(!!skip)("ten at once", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  let outputs = 0;
  /**
   * N copies of a bunc command, started together; their exit codes and stderr. stderr goes
   * to a file, not a pipe: the container a create makes inherits it and holds it open.
   */
  async function together(args: string[][]): Promise<{ code: number; stderr: string }[]> {
    const files = args.map(() => path.join(sb.dir, `stderr-${++outputs}`));
    const fds = files.map((f) => openSync(f, "w"));
    try {
      const procs = args.map((a, i) => Bun.spawn([BUNC, "--root", sb.root, ...a], { stdin: "ignore", stdout: "ignore", stderr: fds[i]! }));
      const codes = await Promise.all(procs.map((p) => p.exited));
      return codes.map((code, i) => ({ code, stderr: readFileSync(files[i]!, "utf8") }));
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Exactly one exit 0; every other one failed with exactly one "bunc: …" line. */
  function oneWins(results: { code: number; stderr: string }[]): string[] {
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    const losers = results.filter((r) => r.code !== 0);
    for (const r of losers) {
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr).toStartWith("bunc: ");
    }
    return losers.map((r) => r.stderr.trim());
  }

  test("create of one id ten times: one container, nine 'already exists'", async () => {
    const id = sb.id("race");
    const bundle = sb.bundle(["sleep", "60"]);
    const losers = oneWins(await together(Array.from({ length: N }, () => ["create", "-b", bundle, id])));
    for (const l of losers) expect(l).toContain("already exists");
    expect(sb.state(id).status).toBe("created");
    expect(sb.bunc(["delete", "-f", id]).code).toBe(0);
    expect(leftovers(sb, id, bundle)).toEqual([]);
  });

  test("start, pause, resume, delete ten times each: one wins each transition, the state follows", async () => {
    const id = sb.id("race");
    const bundle = sb.bundle(["sleep", "60"]);
    expect(sb.bunc(["create", "-b", bundle, id]).code).toBe(0);
    oneWins(await together(Array.from({ length: N }, () => ["start", id])));
    expect(sb.state(id).status).toBe("running");
    oneWins(await together(Array.from({ length: N }, () => ["pause", id])));
    expect(sb.state(id).status).toBe("paused");
    oneWins(await together(Array.from({ length: N }, () => ["resume", id])));
    expect(sb.state(id).status).toBe("running");
    // Not transitions: every exec and every kill of a running container succeeds.
    const execs = await together(Array.from({ length: N }, () => ["exec", id, "true"]));
    expect(execs.map((r) => r.code)).toEqual(Array(N).fill(0));
    expect((await together([["kill", id, "KILL"]]))[0]!.code).toBe(0);
    expect(waitStatus(sb, id, "stopped").status).toBe("stopped");
    const losers = oneWins(await together(Array.from({ length: N }, () => ["delete", id])));
    for (const l of losers) expect(l).toMatch(/does not exist|is being deleted|cannot delete/);
    expect(leftovers(sb, id, bundle)).toEqual([]);
  });

  test("delete -f ten times on a running container: all succeed, nothing is left", async () => {
    const id = sb.id("race");
    const bundle = sb.bundle(["sleep", "60"]);
    expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
    const results = await together(Array.from({ length: N }, () => ["delete", "-f", id]));
    expect(results.map((r) => `${r.code} ${r.stderr}`)).toEqual(Array(N).fill("0 "));
    expect(leftovers(sb, id, bundle)).toEqual([]);
  });
});
