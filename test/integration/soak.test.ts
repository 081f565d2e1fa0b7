/**
 * The soak's short run on every change (issue 14): containers in sequence and
 * in parallel batches through dist/bunc, then nothing may be left — mounts,
 * cgroup directories, state dirs, processes (scripts/soak.ts; the long run is
 * `bun scripts/soak.ts`, 1000 + 50 × 20, documented in README).
 */
import { describe, expect, test } from "bun:test";
import { integrationSkipReason } from "../harness";
import { soak } from "../../scripts/soak";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping the soak: ${skip}`);

describe.skipIf(!!skip)("soak, short", () => {
  test("100 containers in sequence and 2 × 10 in parallel: no failure, nothing leaked", async () => {
    const r = await soak({ sequential: 100, parallel: 10, batches: 2 });
    console.log(`soak: ${r.sequential} + ${r.parallel} containers in ${r.seconds.toFixed(1)} s; per container: first ${r.window} ${r.firstHundredMs.toFixed(1)} ms, last ${r.window} ${r.lastHundredMs.toFixed(1)} ms`);
    expect(r.failures).toEqual([]);
    expect(r.leaks).toEqual([]);
  }, 300_000);
});
