/** parseGlobals (main's own parse of the flags before the command) against citty's parseArgs, which it replaces. */
import { describe, expect, test } from "bun:test";
import { parseArgs } from "citty";
import { globalArgs, parseGlobals } from "../../src/cli/globals";

const NAMES = ["root", "log", "log-format", "debug", "systemd-cgroup", "rootless", "criu"] as const;

/** What setGlobals reads, from citty's parse: defaults left out (setGlobals applies them) so both sides compare alike. */
function viaCitty(before: string[]): Record<string, unknown> {
  const parsed = parseArgs(before, globalArgs) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const n of NAMES) {
    const given = before.some((a) => a.replace(/^--?/, "").split("=")[0] === n);
    if (given) out[n] = parsed[n];
  }
  return out;
}

function viaOurs(before: string[]): Record<string, unknown> {
  const parsed = parseGlobals(before);
  return Object.fromEntries(NAMES.filter((n) => n in parsed).map((n) => [n, parsed[n]]));
}

describe("parseGlobals reads the global flags as citty did", () => {
  const cases: string[][] = [
    [],
    ["--root", "/x"],
    ["--root=/x"],
    ["--root="],
    ["--log", "/l", "--log-format", "json"],
    ["--log-format=json", "--debug"],
    ["--debug=false"],
    ["--debug=true", "--systemd-cgroup"],
    ["--rootless", "true", "--criu", "/usr/sbin/criu"],
    ["--root", "/a", "--root", "/b"],
    ["--systemd-cgroup=false", "--root", "--debug"],
  ];
  for (const before of cases)
    test(JSON.stringify(before), () => {
      expect(viaOurs(before)).toEqual(viaCitty(before));
    });

  // Go's flag package (runc) takes one dash as well as two; citty read "-root" as -r -o -o -t
  // and left the root at its default.
  test("booleans take Go's ParseBool spellings; anything else is an error", () => {
    for (const v of ["1", "t", "T", "TRUE", "true", "True"]) expect(parseGlobals([`--debug=${v}`]).debug).toBe(true);
    for (const v of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseGlobals([`--debug=${v}`]).debug).toBe(false);
    expect(() => parseGlobals(["--debug=junk"])).toThrow('invalid boolean value "junk" for -debug: parse error');
  });

  test("-root /x and -log-format=json, as runc", () => {
    expect(parseGlobals(["-root", "/x", "-log-format=json", "-debug"])).toEqual({ root: "/x", "log-format": "json", debug: true });
  });
});
