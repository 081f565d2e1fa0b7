/** linux.memoryPolicy → set_mempolicy(2) operands, and the refusals. */
import { describe, expect, test } from "bun:test";
import { memoryPolicyStep, planMemoryPolicy } from "../../src/plan/mempolicy";
import { compileExec } from "../../src/plan/exec";
import { Op } from "../../src/plan/program";

describe("planMemoryPolicy", () => {
  test("mode, flags and the node mask as set_mempolicy takes them", () => {
    const p = planMemoryPolicy({ mode: "MPOL_BIND", nodes: "0,2-3,65" });
    expect(p.mode).toBe(2);
    expect([...p.mask]).toEqual([0b1101, 0, 0, 0, 0, 0, 0, 0, 0b10, 0, 0, 0, 0, 0, 0, 0]);
    expect(p.maxnode).toBe(129);
    expect(planMemoryPolicy({ mode: "MPOL_INTERLEAVE", nodes: "0", flags: ["MPOL_F_STATIC_NODES"] }).mode).toBe(3 | (1 << 15));
    expect(planMemoryPolicy({ mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_NUMA_BALANCING"] }).mode).toBe(2 | (1 << 13));
    expect(planMemoryPolicy({ mode: "MPOL_LOCAL" })).toEqual({ mode: 4, mask: new Uint8Array(0), maxnode: 0 });
    expect(planMemoryPolicy({ mode: "MPOL_PREFERRED", nodes: "" }).maxnode).toBe(0); // PREFERRED with no node: local allocation
    expect(memoryPolicyStep({ mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_STATIC_NODES"] }).what).toBe("set memory policy MPOL_BIND nodes 0 flags MPOL_F_STATIC_NODES");
  });

  test("refusals name the field and the reason", () => {
    expect(() => planMemoryPolicy({ mode: "MPOL_NOPE" as any })).toThrow('linux.memoryPolicy.mode: invalid memory policy mode "MPOL_NOPE"');
    expect(() => planMemoryPolicy({ mode: "MPOL_BIND" })).toThrow("MPOL_BIND needs at least one node");
    expect(() => planMemoryPolicy({ mode: "MPOL_WEIGHTED_INTERLEAVE", nodes: "" })).toThrow("needs at least one node");
    expect(() => planMemoryPolicy({ mode: "MPOL_DEFAULT", nodes: "0" })).toThrow("MPOL_DEFAULT takes no nodes");
    expect(() => planMemoryPolicy({ mode: "MPOL_LOCAL", nodes: "1" })).toThrow("MPOL_LOCAL takes no nodes");
    expect(() => planMemoryPolicy({ mode: "MPOL_BIND", nodes: "0-x" })).toThrow("invalid CPU list");
    expect(() => planMemoryPolicy({ mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"] })).toThrow("exclude each other");
    expect(() => planMemoryPolicy({ mode: "MPOL_INTERLEAVE", nodes: "0", flags: ["MPOL_F_NUMA_BALANCING"] })).toThrow("only to MPOL_BIND and MPOL_PREFERRED_MANY");
    expect(() => planMemoryPolicy({ mode: "MPOL_LOCAL", flags: ["MPOL_F_STATIC_NODES"] })).toThrow("MPOL_LOCAL takes no node flags");
    expect(() => planMemoryPolicy({ mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_X" as any] })).toThrow('invalid memory policy flag "MPOL_F_X"');
  });

  test("exec's process gets the container's policy", () => {
    const plan = compileExec({ process: { args: ["sh"], cwd: "/" } as any, pidfd: 9, namespaces: ["mount"], preserveFds: 0, home: "/", memoryPolicy: { mode: "MPOL_BIND", nodes: "0" }, privileged: true });
    const op = plan.ops.find((o) => o.code === Op.MEMPOLICY)!;
    expect(op.n).toEqual([2, { bytes: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]) }, 65]);
    expect(plan.ops.indexOf(op)).toBeLessThan(plan.ops.findIndex((o) => o.code === Op.EXEC));
  });
});
