/**
 * src/cgroups/device-filter.ts: device rules → v1-equivalent exceptions → the
 * eBPF program. The bytes are run by a small interpreter of the opcodes the
 * generator uses, and must decide every request as the rules say.
 */
import { describe, expect, test } from "bun:test";
import { deviceRules, type DeviceRule } from "../../src/cgroups/devices";
import { deviceAllowed, deviceProgram, emulateDeviceRules, type DeviceFilter } from "../../src/cgroups/device-filter";

const ACC: Record<string, number> = { m: 1, r: 2, w: 4 };
const rule = (allow: boolean, type: string, major: number | "*", minor: number | "*", access = "rwm"): DeviceRule => ({ allow, type, major, minor, access });

/** Run the program on struct bpf_cgroup_dev_ctx {access_type, major, minor}; returns R0. */
function run(prog: Uint8Array, type: "b" | "c", major: number, minor: number, access: string): number {
  let acc = 0;
  for (const ch of access) acc |= ACC[ch]!;
  const ctx = new DataView(new ArrayBuffer(12));
  ctx.setUint32(0, (acc << 16) | (type === "b" ? 1 : 2), true);
  ctx.setUint32(4, major, true);
  ctx.setUint32(8, minor, true);
  const v = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const R = new Array<number>(11).fill(0);
  R[1] = -1; // the context pointer: only ever loaded from
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const code = v.getUint8(pc * 8), regs = v.getUint8(pc * 8 + 1), off = v.getInt16(pc * 8 + 2, true), imm = v.getInt32(pc * 8 + 4, true);
    const dst = regs & 15, src = regs >> 4;
    pc++;
    const u = (x: number) => x >>> 0;
    switch (code) {
      case 0x61: expect(R[src]).toBe(-1); R[dst] = ctx.getUint32(off, true); break;
      case 0x54: R[dst] = u(R[dst]! & imm); break;
      case 0x74: R[dst] = u(R[dst]! >>> imm); break;
      case 0xb4: R[dst] = u(imm); break;
      case 0xbc: R[dst] = u(R[src]!); break;
      case 0x56: if (u(R[dst]!) !== u(imm)) pc += off; break;
      case 0x16: if (u(R[dst]!) === u(imm)) pc += off; break;
      case 0x5e: if (u(R[dst]!) !== u(R[src]!)) pc += off; break;
      case 0x95: return R[0]!;
      default: throw new Error(`opcode ${code.toString(16)} at ${pc - 1}`);
    }
    expect(pc).toBeLessThan(prog.length / 8);
  }
  throw new Error("no exit");
}

const REQUESTS: [("b" | "c"), number, number, string][] = [];
for (const type of ["b", "c"] as const)
  for (const [ma, mi] of [[1, 3], [1, 5], [1, 11], [5, 2], [8, 0], [8, 1], [136, 4], [10, 200], [4294967295, 7]])
    for (const access of ["r", "w", "m", "rw", "rwm", "wm"]) REQUESTS.push([type, ma!, mi!, access]);

/** The program decides every request as deviceAllowed does. */
function agrees(f: DeviceFilter): void {
  const prog = deviceProgram(f);
  for (const [t, ma, mi, acc] of REQUESTS) expect([t, ma, mi, acc, run(prog, t, ma, mi, acc)]).toEqual([t, ma, mi, acc, deviceAllowed(f, t, ma, mi, acc) ? 1 : 0]);
}

describe("emulateDeviceRules (cgroup v1 semantics)", () => {
  test("no rules: deny-all (runc's start), the defaults allowed", () => {
    const f = emulateDeviceRules(deviceRules());
    expect(f.defaultAllow).toBe(false);
    expect(deviceAllowed(f, "c", 1, 3, "rw")).toBe(true); // /dev/null
    expect(deviceAllowed(f, "c", 136, 9, "rw")).toBe(true); // a pty
    expect(deviceAllowed(f, "c", 1, 11, "r")).toBe(false); // /dev/kmsg
    expect(deviceAllowed(f, "c", 1, 11, "m")).toBe(true); // mknod of anything
    expect(deviceAllowed(f, "b", 8, 0, "m")).toBe(true);
    expect(deviceAllowed(f, "b", 8, 0, "r")).toBe(false);
    agrees(f);
  });

  test("an 'a' rule resets whatever came before, whatever its numbers", () => {
    const f = emulateDeviceRules([rule(true, "c", 1, 11), rule(false, "a", 1, 3, "r"), rule(true, "c", 1, 3, "r")]);
    expect(f).toEqual({ defaultAllow: false, exceptions: [{ type: "c", major: 1, minor: 3, access: 2 }] });
  });

  test("allow-all then deny one device: a deny list; an overlapping access is refused", () => {
    const f = emulateDeviceRules([rule(true, "a", "*", "*"), rule(false, "c", 1, 3, "w")]);
    expect(f.defaultAllow).toBe(true);
    expect(deviceAllowed(f, "c", 1, 3, "r")).toBe(true);
    expect(deviceAllowed(f, "c", 1, 3, "rw")).toBe(false); // O_RDWR asks both: v1 refuses on any overlap
    expect(deviceAllowed(f, "c", 1, 5, "rw")).toBe(true);
    agrees(f);
  });

  test("exceptions with the same key merge, and a later rule takes access back", () => {
    const f = emulateDeviceRules([rule(false, "a", "*", "*"), rule(true, "c", 1, 11, "r"), rule(true, "c", 1, 11, "w"), rule(false, "c", 1, 11, "r")]);
    expect(f.exceptions).toEqual([{ type: "c", major: 1, minor: 11, access: 4 }]);
    const g = emulateDeviceRules([rule(false, "a", "*", "*"), rule(true, "c", 1, 11, "rw"), rule(false, "c", 1, 11)]);
    expect(g.exceptions).toEqual([]);
    agrees(f);
    agrees(g);
  });

  test("an explicit allow after deny-all lets one device through, wildcards by major", () => {
    const f = emulateDeviceRules(deviceRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "rw" }, { allow: true, type: "b", major: 8, access: "r" }]));
    expect(deviceAllowed(f, "c", 1, 11, "rw")).toBe(true);
    expect(deviceAllowed(f, "b", 8, 1, "r")).toBe(true);
    expect(deviceAllowed(f, "b", 8, 1, "rw")).toBe(false);
    agrees(f);
  });

  test("a deny punching a hole in a wider allow is refused (v1 would silently ignore it)", () => {
    expect(() => emulateDeviceRules([rule(false, "a", "*", "*"), rule(true, "c", 136, "*"), rule(false, "c", 136, 2, "w")])).toThrow(/wider exception c 136:\*/);
    // Access that does not overlap is fine.
    expect(() => emulateDeviceRules([rule(false, "a", "*", "*"), rule(true, "c", 136, "*", "r"), rule(false, "c", 136, 2, "w")])).not.toThrow();
  });

  test("bad rules name the rule", () => {
    expect(() => emulateDeviceRules([rule(true, "x", 1, 3)])).toThrow("linux.resources.devices[0]: unknown device type \"x\"");
    expect(() => emulateDeviceRules([rule(true, "c", 1, 3, "rx")])).toThrow("devices[0]: unknown device access \"x\"");
    expect(() => emulateDeviceRules([rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "")])).toThrow("devices[1].access: must not be empty");
    expect(() => emulateDeviceRules([rule(true, "c", -5, 3)])).toThrow("major must be a device number");
    expect(() => emulateDeviceRules([rule(true, "c", 1, 2 ** 32)])).toThrow("minor must be a device number");
  });
});

describe("deviceProgram", () => {
  test("header, one block per exception, default verdict last", () => {
    const prog = deviceProgram({ defaultAllow: false, exceptions: [] });
    expect(prog.length).toBe(8 * 8);
    const last = new DataView(prog.buffer, prog.length - 16);
    expect([last.getUint8(0), last.getInt32(4, true), last.getUint8(8)]).toEqual([0xb4, 0, 0x95]);
    // rwm exception with both numbers: type, major, minor, verdict = 5 instructions.
    expect(deviceProgram({ defaultAllow: false, exceptions: [{ type: "c", major: 1, minor: 3, access: 7 }] }).length).toBe((6 + 5 + 2) * 8);
  });

  test("u32 device numbers above 2^31 compare exactly (JMP32)", () => {
    const f: DeviceFilter = { defaultAllow: false, exceptions: [{ type: "c", major: 4294967295, minor: 7, access: 7 }] };
    expect(run(deviceProgram(f), "c", 4294967295, 7, "r")).toBe(1);
    expect(run(deviceProgram(f), "c", 2147483647, 7, "r")).toBe(0);
  });

  test("random rule sets: the bytes decide as the emulated rules do", () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const pick = <T,>(xs: T[]): T => xs[rnd(xs.length)]!;
    for (let k = 0; k < 60; k++) {
      const rules: DeviceRule[] = [];
      for (let j = 0; j < 1 + rnd(6); j++)
        rules.push(rule(rnd(2) === 0, pick(["a", "b", "c", "c"]), pick([1, 8, "*", 136] as (number | "*")[]), pick([3, 5, 1, "*"] as (number | "*")[]), pick(["r", "w", "m", "rw", "rwm", "wm"])));
      let f: DeviceFilter;
      try {
        f = emulateDeviceRules(rules);
      } catch {
        continue; // a refused hole punch
      }
      agrees(f);
    }
  });
});
