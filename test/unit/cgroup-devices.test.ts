/** src/cgroups/devices.ts: linux.resources.devices → devices.allow/deny lines, then runc 1.1's AllowedDevices. */
import { describe, expect, test } from "bun:test";
import { ALLOWED_DEVICES, deviceLine, deviceRules } from "../../src/cgroups/devices";

/** runc 1.1 (libcontainer/specconv AllowedDevices), in its order. */
const RUNC_DEFAULT_LINES = [
  "c *:* m",
  "b *:* m",
  "c 1:3 rwm", // /dev/null
  "c 1:8 rwm", // /dev/random
  "c 1:7 rwm", // /dev/full
  "c 5:0 rwm", // /dev/tty
  "c 1:5 rwm", // /dev/zero
  "c 1:9 rwm", // /dev/urandom
  "c 136:* rwm", // /dev/pts/*
  "c 5:2 rwm", // /dev/ptmx
  "c 10:200 rwm", // tuntap
];

describe("deviceLine", () => {
  test("type major:minor access", () => {
    expect(deviceLine({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" })).toBe("c 1:3 rwm");
    expect(deviceLine({ allow: false, type: "a", major: "*", minor: "*", access: "rwm" })).toBe("a *:* rwm");
    expect(deviceLine({ allow: true, type: "b", major: 8, minor: "*", access: "r" })).toBe("b 8:* r");
  });
});

describe("deviceRules", () => {
  test("no config rules: runc's default allow list only, all allowing", () => {
    const rules = deviceRules();
    expect(rules.map(deviceLine)).toEqual(RUNC_DEFAULT_LINES);
    expect(rules.every((r) => r.allow)).toBe(true);
    expect(deviceRules([])).toEqual(rules);
  });

  test("runc spec's deny-all comes first, then the defaults", () => {
    const rules = deviceRules([{ allow: false, access: "rwm" }]);
    expect(rules[0]).toEqual({ allow: false, type: "a", major: "*", minor: "*", access: "rwm" });
    expect(rules.map(deviceLine)).toEqual(["a *:* rwm", ...RUNC_DEFAULT_LINES]);
    expect(rules.slice(1)).toEqual(ALLOWED_DEVICES);
  });

  test("config rules keep their order and fields; missing ones default to a, *, *, rwm", () => {
    const rules = deviceRules([
      { allow: false },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      { allow: true, type: "b", major: 8 },
    ]);
    expect(rules.slice(0, 3)).toEqual([
      { allow: false, type: "a", major: "*", minor: "*", access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      { allow: true, type: "b", major: 8, minor: "*", access: "rwm" },
    ]);
    expect(rules).toHaveLength(3 + RUNC_DEFAULT_LINES.length);
  });
});
