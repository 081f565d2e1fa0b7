/** What `update` records as in force (mergeResources, src/container/update.ts). */
import { describe, expect, test } from "bun:test";
import { mergeResources } from "../../src/container/update";

describe("mergeResources", () => {
  test("a setting given replaces the one before; the others stay", () => {
    const created = { memory: { limit: 64, swap: 128 }, cpu: { quota: 20000, period: 100000, cpus: "0" }, pids: { limit: 10 } };
    expect(mergeResources(created, { memory: { limit: 32 }, cpu: { period: 50000 } })).toEqual({
      memory: { limit: 32, swap: 128 },
      cpu: { quota: 20000, period: 50000, cpus: "0" },
      pids: { limit: 10 },
    });
  });

  test("lists are replaced whole; a container without recorded resources gets the given ones", () => {
    const created = { devices: [{ allow: false, access: "rwm" }], hugepageLimits: [{ pageSize: "2MB", limit: 1 }], unified: { "a.b": "1" } };
    const merged = mergeResources(created, { devices: [{ allow: true, access: "r" }], unified: { "c.d": "2" } });
    expect(merged.devices).toEqual([{ allow: true, access: "r" }]);
    expect(merged.hugepageLimits).toEqual([{ pageSize: "2MB", limit: 1 }]);
    expect(merged.unified).toEqual({ "a.b": "1", "c.d": "2" });
    expect(mergeResources(undefined, { pids: { limit: 5 } })).toEqual({ pids: { limit: 5 } });
  });

  test("the record it was given is not changed", () => {
    const created = { memory: { limit: 64 } };
    mergeResources(created, { memory: { limit: 32 } });
    expect(created).toEqual({ memory: { limit: 64 } });
  });
});
