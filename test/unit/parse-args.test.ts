/**
 * src/cli/parse-args.ts against node:util's parseArgs, which citty would
 * otherwise load: the same options citty builds, on every command-line shape
 * bunc sees (long/short flags, =values, groups, --, lone dashes, negatives)
 * and on thousands of random mixes of them.
 */
import { describe, expect, test } from "bun:test";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs, type OptionConfig } from "../../src/cli/parse-args";

/** Options shaped as citty passes them: type and default for every name, short for one-letter aliases. */
const OPTIONS: Record<string, OptionConfig> = {
  root: { type: "string", default: "/run/bunc" },
  bundle: { type: "string", short: "b", default: undefined },
  "log-format": { type: "string", default: "text" },
  detach: { type: "boolean", short: "d", default: undefined },
  tty: { type: "boolean", short: "t", default: false },
  force: { type: "boolean", short: "f", default: undefined },
  "pid-file": { type: "string", default: undefined },
  user: { type: "string", short: "u", default: undefined },
  env: { type: "string", short: "e", default: undefined },
  keep: { type: "boolean", default: false },
};

function both(args: string[], options: Record<string, OptionConfig> = OPTIONS) {
  const config = { args, options, strict: false, allowPositionals: true } as const;
  return { ours: parseArgs(config) as unknown, node: nodeParseArgs(config as Parameters<typeof nodeParseArgs>[0]) as unknown };
}

describe("parseArgs matches node:util's (strict false, positionals allowed)", () => {
  const cases: string[][] = [
    [],
    ["run", "id"],
    ["--root", "/x", "state", "id"],
    ["--root=/x", "list"],
    ["--root"],
    ["--root", "--debug"],
    ["-b", "bundle", "id"],
    ["-bbundle", "id"],
    ["-b=bundle", "id"],
    ["-dt", "id"],
    ["-dtb", "bundle", "id"],
    ["-dbbundle", "id"],
    ["-db", "bundle"],
    ["--pid-file", "-", "id"],
    ["--detach=false", "id"],
    ["--keep=", "id"],
    ["--", "-d", "--root", "x"],
    ["id", "--", "sh", "-c", "x"],
    ["-", "id"],
    ["--=x", "id"],
    ["-9", "id"],
    ["kill", "id", "-9"],
    ["--unknown", "value"],
    ["--unknown=value"],
    ["-x"],
    ["-xyz"],
    ["-e", "A=1", "-e", "B=2"],
    ["--__proto__", "x"],
    ["-u", "0:0", "id", "ls", "-la"],
  ];
  for (const args of cases)
    test(JSON.stringify(args), () => {
      const { ours, node } = both(args);
      expect(ours).toEqual(node);
    });

  test("5000 random command lines", () => {
    const atoms = ["--root", "/r", "-b", "b", "-bX", "-dt", "-td", "-dtb", "--detach", "--detach=0", "-d", "-t", "--", "-", "id",
      "--pid-file", "--pid-file=p", "-u", "-u1", "-e", "K=V", "-f", "--force", "--keep", "--no-keep", "-9", "--x", "--x=1", "-z", "-zb", "sh", "-c"];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let i = 0; i < 5000; i++) {
      const args = Array.from({ length: rand(8) }, () => atoms[rand(atoms.length)]!);
      const { ours, node } = both(args);
      expect({ args, parsed: ours }).toEqual({ args, parsed: node });
    }
  });

  test("no options at all (citty passes undefined then)", () => {
    const config = { args: ["-ab", "--c", "d"], strict: false, allowPositionals: true } as const;
    expect(parseArgs(config) as unknown).toEqual(nodeParseArgs(config));
  });

  test("anything but citty's way of calling it is refused rather than guessed", () => {
    expect(() => parseArgs({ args: [], strict: true })).toThrow("implements only");
  });
});
