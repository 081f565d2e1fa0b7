/**
 * scripts/bench.ts end to end on a tiny iteration count (1 run, 2 sequential,
 * 2 parallel; ~10 s): every measurement of every setting is taken with the
 * compiled bunc and comes out as a number, both checks pass, and the three
 * outputs are written. Timings are never judged here (DEVELOPERS.md: a
 * benchmark is not a test); that the benchmark still runs is.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { integrationSkipReason, REPO, sh } from "../harness";

const out = mkdtempSync(path.join(tmpdir(), "bunc-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const missing = ["hyperfine", "strace", "perl"].filter((c) => sh(["sh", "-c", `command -v ${c}`]).code !== 0);
const skip = integrationSkipReason() ?? (missing.length ? `${missing.join(", ")} not installed (scripts/install-deps.sh installs them)` : undefined);
if (skip) console.warn(`bench smoke skipped: ${skip}`);

describe.skipIf(skip !== undefined)("the benchmark on a tiny iteration count", () => {
  test("every setting measures every figure for bunc, writes bench.md, bench.svg and bench.json", () => {
    const r = sh([process.execPath, path.join(REPO, "scripts/bench.ts"), "--runs", "1", "--warmup", "0", "--seq", "2", "--par", "2", "--rounds", "1", "--client-rounds", "1", "--out", out, "--note", "smoke"], { timeoutMs: 420_000 });
    expect(r.code, r.stderr).toBe(0);
    for (const f of ["bench.md", "bench.svg", "bench.json"]) expect(existsSync(path.join(out, f)), f).toBe(true);
    const results = JSON.parse(readFileSync(path.join(out, "bench.json"), "utf8"));
    expect(results.settings.map((s: { id: string }) => s.id)).toEqual(["host", "v1", "v2"]);
    const FIGURES = ["run", "run.median", "create", "start", "delete", "state", "version", "exec", "seq.cpu", "seq.wall", "par.wall", "create.maxrss", "waiting.rss", "waiting.pss"];
    for (const s of results.settings)
      for (const f of FIGURES) {
        const fig = s.figures[f]?.bunc;
        expect(typeof fig?.value, `${s.id} ${f}: ${JSON.stringify(fig)}`).toBe("number");
        expect(fig.value, `${s.id} ${f}`).toBeGreaterThan(0);
      }
    // The memory limit is measured where a memory controller is (v1 hierarchies here).
    expect(results.settings[0].figures.memlimit.bunc.value, JSON.stringify(results.settings[0].figures.memlimit)).toBeGreaterThan(0);
    for (const c of results.checks) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    // Each verb beside the floor, interleaved: bunc's, runc's and the floor's medians are numbers.
    expect(results.verbs.timings["--version"].floor.wall, JSON.stringify(results.verbs.timings["--version"])).toBeGreaterThan(0);
    for (const [verb, t] of Object.entries(results.verbs.timings) as [string, Record<string, { wall?: number }>][])
      for (const k of ["bunc", "runc"]) expect(t[k]?.wall, `${verb} ${k}: ${JSON.stringify(t[k])}`).toBeGreaterThan(0);
    // Through the clients (when podman and containerd are installed): timed, and each runtime call traced.
    if (results.clients && !results.clients.na) {
      for (const [sc, t] of Object.entries(results.clients.timings) as [string, Record<string, { wall?: number }>][]) {
        for (const k of ["bunc", "runc"]) expect(t[k]?.wall, `${sc} ${k}: ${JSON.stringify(t[k])}`).toBeGreaterThan(0);
        const verbs = (rt: string) => results.clients.traces[sc][rt].map((c: { verb: string }) => c.verb);
        expect(verbs("bunc"), sc).toContain("create");
        expect(verbs("bunc"), sc).toEqual(verbs("runc"));
      }
    } else console.warn(`bench smoke: no client figures: ${results.clients?.na ?? "not run"}`);
    const md = readFileSync(path.join(out, "bench.md"), "utf8");
    expect(md).toContain("## Setting `host`");
    expect(md).toContain("| `run` /bin/true, mean | ");
    expect(readFileSync(path.join(out, "bench.svg"), "utf8")).toStartWith("<svg");
  }, 420_000);
});
