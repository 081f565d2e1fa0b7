/** src/plan/capabilities.ts: names in kernel bit order (linux/capability.h) and name lists → masks. */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { CAPABILITIES, capabilityMask } from "../../src/plan/capabilities";

/** linux/capability.h, written out. */
const BITS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

describe("CAPABILITIES", () => {
  test("every capability up to CAP_LAST_CAP (40), in bit order", () => {
    expect(CAPABILITIES.length).toBe(41);
    CAPABILITIES.forEach((name, i) => expect({ name, bit: i }).toEqual({ name, bit: BITS[name]! }));
  });
});

describe("capabilityMask", () => {
  test("no list or an empty list is 0", () => {
    expect(capabilityMask(undefined, "effective")).toBe(0n);
    expect(capabilityMask([], "effective")).toBe(0n);
  });

  test("one bit per name", () => {
    for (const [name, bit] of Object.entries(BITS)) expect(capabilityMask([name], "permitted")).toBe(1n << BigInt(bit));
  });

  test("runc spec's default set", () => {
    expect(capabilityMask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "bounding")).toBe(0x20000420n);
  });

  test("bits above 31 are kept (a 64-bit mask)", () => {
    expect(capabilityMask(["CAP_MAC_OVERRIDE", "CAP_CHECKPOINT_RESTORE"], "bounding")).toBe((1n << 32n) | (1n << 40n));
  });

  test("all of them", () => {
    expect(capabilityMask([...CAPABILITIES], "bounding")).toBe((1n << 41n) - 1n);
  });

  test("duplicates are harmless", () => {
    expect(capabilityMask(["CAP_KILL", "CAP_KILL"], "ambient")).toBe(1n << 5n);
  });

  test("an unknown name is an error naming it and the set", () => {
    expect(() => capabilityMask(["CAP_KILL", "CAP_FOO"], "inheritable")).toThrow(BuncError);
    expect(() => capabilityMask(["CAP_FOO"], "inheritable")).toThrow('unknown capability "CAP_FOO" in process.capabilities.inheritable');
  });

  test("names are case-sensitive and need the CAP_ prefix", () => {
    expect(() => capabilityMask(["cap_kill"], "effective")).toThrow('unknown capability "cap_kill"');
    expect(() => capabilityMask(["KILL"], "effective")).toThrow('unknown capability "KILL"');
  });
});
