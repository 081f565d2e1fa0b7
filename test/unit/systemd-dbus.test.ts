/**
 * The D-Bus wire format of src/cgroups/systemd/wire.ts against bytes laid
 * out by hand from the D-Bus Specification, and the systemd driver's unit
 * names and properties (src/cgroups/systemd/units.ts) against runc 1.1's
 * rules. The conversation with a real bus is in
 * test/integration/systemd-cgroup.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { annotationProperties, cpuMask, deviceProperties, expandSlice, resourceProperties, scopeName, scopeProperties } from "../../src/cgroups/systemd/units";
import { decodeMessage, encodeMessage, type Message, MessageType, messageLength, splitSignature, variant } from "../../src/cgroups/systemd/wire";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => Buffer.from(s).toString("hex");

describe("D-Bus wire format", () => {
  test("a method call without a body: header, fields (each 8-aligned), padding to 8, as the specification lays it out", () => {
    const bytes = encodeMessage({ type: MessageType.MethodCall, serial: 1, path: "/o", member: "Hi", destination: "d" });
    const expected = [
      "6c", "01", "00", "01", "00000000", "01000000", // 'l', METHOD_CALL, flags, version 1, body length 0, serial 1
      "2a000000", // header fields array: 42 bytes (to the end of its last element)
      "01", "01", ascii("o"), "00", "02000000", ascii("/o"), "00", // PATH: code 1, variant sig "o", string "/o"
      "0000000000", // pad to 8
      "03", "01", ascii("s"), "00", "02000000", ascii("Hi"), "00", // MEMBER
      "0000000000",
      "06", "01", ascii("s"), "00", "01000000", ascii("d"), "00", // DESTINATION (last: no padding inside the array)
      "000000000000", // header padded to 8 before the (empty) body
    ].join("");
    expect(hex(bytes)).toBe(expected);
    expect(messageLength(bytes.subarray(0, 16))).toBe(bytes.length);
  });

  test("a body of ssa(sv)a(sa(sv)) (StartTransientUnit's) is laid out with each value aligned to its type", () => {
    const m: Message = {
      type: MessageType.MethodCall, serial: 7, path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager",
      member: "StartTransientUnit", destination: "org.freedesktop.systemd1", signature: "ssa(sv)a(sa(sv))",
      body: ["u.scope", "replace", [["PIDs", variant("au", [42])], ["Delegate", variant("b", true)], ["MemoryLimit", variant("t", 1n << 26n)]], []],
    };
    const bytes = encodeMessage(m);
    // The body alone, from the end of the header (which is 8-aligned).
    const bodyLength = new DataView(bytes.buffer).getUint32(4, true);
    const body = hex(bytes.subarray(bytes.length - bodyLength));
    expect(body).toBe([
      "07000000", ascii("u.scope"), "00", // s
      "07000000", ascii("replace"), "00", // s
      "50000000", "00000000", // a(sv): 80 bytes of elements; the padding to their 8 alignment (offset 28 → 32) is outside the length
      "04000000", ascii("PIDs"), "00", "02", ascii("au"), "00", "000000", "04000000", "2a000000", // (sv) "PIDs", v au [42]: the array 4-aligned
      "08000000", ascii("Delegate"), "00", "01", ascii("b"), "00", "01000000", "00000000", // b true, then padding to the next struct
      "0b000000", ascii("MemoryLimit"), "00", "01", ascii("t"), "00", "0000000000", "0000000400000000", // t aligned to 8
      "00000000", // a(sa(sv)) length 0 …
      "00000000", // … and the padding to its element's 8 alignment, outside the length
    ].join(""));
    const back = decodeMessage(bytes);
    expect(back.member).toBe("StartTransientUnit");
    expect(back.body).toEqual(m.body!);
  });

  test("round trip of every basic type, nested containers and dict entries", () => {
    const body = [255, true, -2, 65535, -7, 4294967295, -(1n << 62n), (1n << 64n) - 1n, 1.5, "ä s", "/p/q", "a{sv}", variant("(ai)", [[1, 2]]), [["k", variant("s", "v")]], [[1, [["x", [variant("y", 3)]]]]]];
    const m: Message = { type: MessageType.Signal, serial: 99, path: "/x", interface: "a.b", member: "C", signature: "ybnqiuxtdsogva{sv}a(ya(sav))", body };
    const back = decodeMessage(encodeMessage(m));
    expect(back).toMatchObject({ type: MessageType.Signal, serial: 99, path: "/x", interface: "a.b", member: "C" });
    expect(back.body).toEqual(body);
  });

  test("values that do not fit their type are refused before anything is sent", () => {
    const call = (signature: string, body: unknown[]) => () => encodeMessage({ type: MessageType.MethodCall, serial: 1, path: "/", member: "M", signature, body });
    expect(call("u", [-1])).toThrow(/uint32/);
    expect(call("t", [-1n])).toThrow(/uint64/);
    expect(call("s", ["a\0b"])).toThrow(/NUL/);
    expect(call("s", [])).toThrow(/0 values/);
    expect(call("(ss)", [["a"]])).toThrow(/fields/);
    expect(call("v", [variant("ss", ["a", "b"])])).toThrow(/one complete type/);
  });

  test("splitSignature and malformed signatures", () => {
    expect(splitSignature("ssa(sv)a(sa(sv))")).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(splitSignature("a{sa{sv}}u")).toEqual(["a{sa{sv}}", "u"]);
    expect(() => splitSignature("a(sv")).toThrow(/unclosed|ends early/);
    expect(() => splitSignature("z")).toThrow(/unknown type/);
  });

  test("a big-endian message (another peer's choice) is read", () => {
    // METHOD_RETURN, serial 2, fields: REPLY_SERIAL 5 (u), SIGNATURE "u"; body uint32 0x01020304.
    const fields = ["05", "01", ascii("u"), "00", "00000005", "08", "01", ascii("g"), "00", "01", ascii("u"), "00"].join("");
    const bytes = Buffer.from(["42", "02", "00", "01", "00000004", "00000002", "0000000f", fields, "00", "01020304"].join(""), "hex");
    const m = decodeMessage(new Uint8Array(bytes));
    expect(m).toMatchObject({ type: MessageType.MethodReturn, serial: 2, replySerial: 5, signature: "u", body: [0x01020304] });
  });

  test("a truncated or lying message is an error, not a crash", () => {
    const good = encodeMessage({ type: MessageType.MethodCall, serial: 1, path: "/", member: "M", signature: "s", body: ["hello"] });
    expect(() => decodeMessage(good.subarray(0, good.length - 3))).toThrow(/D-Bus/);
    const bad = new Uint8Array(good);
    bad[3] = 2;
    expect(() => messageLength(bad)).toThrow(/protocol version/);
  });
});

describe("systemd units as runc names them", () => {
  test("slices nest by dashes; -.slice is the root; bad names are refused (runc's ExpandSlice)", () => {
    expect(expandSlice("system.slice")).toBe("/system.slice");
    expect(expandSlice("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice");
    expect(expandSlice("-.slice")).toBe("/");
    for (const bad of ["a--b.slice", "-a.slice", "a.scope", "a/b.slice", ".slice"]) expect(() => expandSlice(bad)).toThrow(/invalid slice name/);
  });

  test("the scope: prefix-name.scope in the slice, system.slice when the slice part is empty, runc-ID.scope without a cgroupsPath", () => {
    expect(scopeName("c1", "kubepods-besteffort.slice:cri-containerd:abc")).toEqual({ slice: "kubepods-besteffort.slice", unit: "cri-containerd-abc.scope", cgroup: "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope" });
    expect(scopeName("c1", ":pfx:x")).toEqual({ slice: "system.slice", unit: "pfx-x.scope", cgroup: "/system.slice/pfx-x.scope" });
    expect(scopeName("c1", undefined)).toEqual({ slice: "system.slice", unit: "runc-c1.scope", cgroup: "/system.slice/runc-c1.scope" });
    expect(scopeName("c1", "-.slice:p:n").cgroup).toBe("/p-n.scope");
    expect(() => scopeName("c1", "/plain/path")).toThrow(/slice:prefix:name/);
    expect(() => scopeName("c1", "a.slice:p:n.slice")).toThrow(/not supported/);
  });

  test("StartTransientUnit's properties: Description, Slice, Delegate, PIDs, accounting, DefaultDependencies=false (runc's Apply)", () => {
    const props = scopeProperties("c1", scopeName("c1", "a.slice:p:n"), 42, 1);
    expect(Object.fromEntries(props.map(([k, v]) => [k, v.value]))).toEqual({
      Description: "libcontainer container c1", Slice: "a.slice", Delegate: true, PIDs: [42],
      MemoryAccounting: true, CPUAccounting: true, BlockIOAccounting: true, TasksAccounting: true, DefaultDependencies: false,
    });
    expect(scopeProperties("c1", scopeName("c1", undefined), 42, 2).map(([k]) => k)).toContain("IOAccounting");
  });

  const values = (p: ReturnType<typeof resourceProperties>) => Object.fromEntries(p.map(([k, v]) => [k, v.value]));

  test("v1 resource properties (runc's genV1ResourcesProperties): MemoryLimit, CPUShares, CPUQuota rounded up to 10 ms, BlockIOWeight, TasksMax", () => {
    const r = { memory: { limit: 64 << 20 }, cpu: { shares: 512, quota: 33333, period: 100000, cpus: "0-1" }, blockIO: { weight: 300 }, pids: { limit: 50 } };
    expect(values(resourceProperties(r, 1, 252))).toEqual({
      MemoryLimit: 64n << 20n, CPUShares: 512n, CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: 340000n, BlockIOWeight: 300n, TasksMax: 50n, AllowedCPUs: [3],
    });
    // Older systemd knows neither the period nor AllowedCPUs; -1 is infinity.
    expect(values(resourceProperties({ cpu: { quota: -1, period: 50000, cpus: "1" }, pids: { limit: -1 } }, 1, 241))).toEqual({ CPUQuotaPerSecUSec: (1n << 64n) - 1n, TasksMax: (1n << 64n) - 1n });
  });

  test("v2 resource properties (runc's genV2ResourcesProperties and unifiedResToSystemdProps)", () => {
    const r = { memory: { limit: 100, reservation: 50, swap: 300 }, cpu: { shares: 1024, quota: 50000 }, unified: { "memory.high": "90", "pids.max": "max", "io.weight": "10" } };
    expect(values(resourceProperties(r, 2, 252))).toEqual({
      MemoryMax: 100n, MemoryLow: 50n, MemorySwapMax: 200n, CPUWeight: 39n, CPUQuotaPerSecUSec: 500000n, MemoryHigh: 90n, TasksMax: (1n << 64n) - 1n,
    });
  });

  test("device rules as DevicePolicy/DeviceAllow (runc's generateDeviceProperties): the defaults, a group by major, allow-all, a deny list", () => {
    const proc = "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n226 drm\n\nBlock devices:\n  8 sd\n";
    const warnings: string[] = [];
    const props = deviceProperties({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 226, access: "rw" }, { allow: true, type: "c", major: 99, minor: 1, access: "r" }] }, proc, (p) => p !== "/dev/char/99:1" && p !== "/sys/dev/char/99:1", warnings);
    expect(props.map(([k, v]) => [k, v.value])).toEqual([
      ["DevicePolicy", "strict"],
      ["DeviceAllow", []],
      ["DeviceAllow", [["char-drm", "rw"], ["char-*", "m"], ["block-*", "m"], ["/dev/char/1:3", "rwm"], ["/dev/char/1:8", "rwm"], ["/dev/char/1:7", "rwm"], ["/dev/char/5:0", "rwm"], ["/dev/char/1:5", "rwm"], ["/dev/char/1:9", "rwm"], ["char-pts", "rwm"], ["/dev/char/5:2", "rwm"], ["/dev/char/10:200", "rwm"]]],
    ]);
    expect(warnings).toEqual(["skipping device /dev/char/99:1 for systemd: no such device"]);
    expect(deviceProperties({ devices: [{ allow: true, access: "rwm" }] }, proc, () => true).map(([k, v]) => [k, v.value])).toEqual([["DevicePolicy", "auto"], ["DeviceAllow", []]]);
    const denyList: string[] = [];
    expect(deviceProperties({ devices: [{ allow: true, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 1, access: "rw" }] }, proc, () => true, denyList).map(([k]) => k)).toEqual(["DevicePolicy", "DeviceAllow"]);
    expect(denyList[0]).toContain("doesn't support blacklist device rules");
  });

  test("cpuset lists become systemd's bitmask, lowest CPU in the lowest bit of the first byte", () => {
    expect(cpuMask("0-1")).toEqual([3]);
    expect(cpuMask("8")).toEqual([0, 1]);
    expect(cpuMask("0,9-10, 3")).toEqual([9, 6]);
    expect(() => cpuMask("")).toThrow(/empty/);
    expect(() => cpuMask("3-1")).toThrow(/bad cpuset/);
  });

  test("annotations org.systemd.property.* become properties; …Sec becomes …USec (runc's initSystemdProps)", () => {
    const p = annotationProperties({ "org.systemd.property.TimeoutStopSec": "uint64 5", "org.systemd.property.CollectMode": "'inactive-or-failed'", "org.systemd.property.CPUWeight": "uint64 7", other: "x" });
    expect(values(p)).toEqual({ TimeoutStopUSec: 5_000_000n, CollectMode: "inactive-or-failed", CPUWeight: 7n });
    expect(() => annotationProperties({ "org.systemd.property.A1b": "1" })).toThrow(/name incorrect/);
    expect(() => annotationProperties({ "org.systemd.property.Foo": "[1, 2]" })).toThrow(/parse error/);
  });
});
