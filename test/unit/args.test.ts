/** src/cli/args.ts checkFlags: runc refuses an unknown flag, and so does bunc. */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { checkFlags, createArgs, nonNegative } from "../../src/cli/args";

const killArgs = {
  id: { type: "positional", required: true },
  signal: { type: "positional", required: false },
  all: { type: "boolean", alias: "a" },
} as const;

function flagError(raw: string[], def: Parameters<typeof checkFlags>[1] = createArgs): string {
  try {
    checkFlags(raw, def);
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    expect((e as BuncError).code).toBe("EINVAL");
    return (e as Error).message;
  }
  throw new Error(`checkFlags accepted ${raw.join(" ")}`);
}

describe("checkFlags", () => {
  test("known flags, with one or two dashes, pass", () => {
    expect(() => checkFlags(["--bundle", "/b", "--pid-file", "/p", "--no-pivot", "--no-new-keyring", "--preserve-fds", "2", "c1"], createArgs)).not.toThrow();
    expect(() => checkFlags(["-bundle", "/b", "c1"], createArgs)).not.toThrow();
  });

  test("aliases pass", () => {
    expect(() => checkFlags(["-b", "/b", "c1"], createArgs)).not.toThrow();
    expect(() => checkFlags(["-a", "c1", "KILL"], killArgs)).not.toThrow();
  });

  test("--help and -h always pass", () => {
    expect(() => checkFlags(["--help"], createArgs)).not.toThrow();
    expect(() => checkFlags(["-h"], killArgs)).not.toThrow();
  });

  test("the --flag=value form", () => {
    expect(() => checkFlags(["--bundle=/b", "c1"], createArgs)).not.toThrow();
    expect(() => checkFlags(["--pid-file=/run/x.pid", "c1"], createArgs)).not.toThrow();
    expect(flagError(["--bundel=/b", "c1"])).toBe("flag provided but not defined: -bundel");
  });

  test("--foo → flag provided but not defined: -foo", () => {
    expect(flagError(["--foo", "c1"])).toBe("flag provided but not defined: -foo");
    expect(flagError(["c1", "--foo"])).toBe("flag provided but not defined: -foo");
    expect(flagError(["-x"])).toBe("flag provided but not defined: -x");
  });

  test("a flag of another verb is unknown here", () => {
    expect(flagError(["--all", "c1"])).toBe("flag provided but not defined: -all");
    expect(flagError(["--bundle", "/b", "c1"], killArgs)).toBe("flag provided but not defined: -bundle");
  });

  test("positional names are not flags", () => {
    expect(flagError(["--id", "c1"])).toBe("flag provided but not defined: -id");
  });

  test('checking stops at "--"', () => {
    expect(() => checkFlags(["--bundle", "/b", "--", "--foo", "-x"], createArgs)).not.toThrow();
    expect(flagError(["--foo", "--", "c1"])).toBe("flag provided but not defined: -foo");
  });

  test('"-" and plain words are not flags', () => {
    expect(() => checkFlags(["c1", "-"], killArgs)).not.toThrow();
  });

  test("more positional arguments than the command takes are refused", () => {
    expect(() => checkFlags(["c1", "KILL", "extra"], killArgs)).toThrow('too many arguments: "extra" (takes 2)');
  });
});

describe("nonNegative", () => {
  test("integers from 0", () => {
    expect(nonNegative("0", "preserve-fds")).toBe(0);
    expect(nonNegative("3", "preserve-fds")).toBe(3);
    expect(nonNegative(undefined, "preserve-fds")).toBe(0);
  });

  test("anything else names the flag", () => {
    expect(() => nonNegative("-1", "preserve-fds")).toThrow("invalid value for --preserve-fds: -1");
    expect(() => nonNegative("1.5", "preserve-fds")).toThrow("invalid value for --preserve-fds: 1.5");
    expect(() => nonNegative("x", "preserve-fds")).toThrow("invalid value for --preserve-fds: x");
  });
});
