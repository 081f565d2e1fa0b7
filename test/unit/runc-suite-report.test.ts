import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { compare, failing, filterFor, parseAllowList, parseTap, renderReport, renderTable, retryList } from "../../scripts/_suite/report";

const TAP = `1..4
ok 1 runc run
not ok 2 runc exec --user
# (in test file exec.bats, line 128)
#   \`[[ "\${output}" == "uid=1000 gid=1000"* ]]' failed
# bunc: exec: something
ok 3 runc run [tty] # skip test requires rootless
ok 4 runc kill # skip
`;

describe("parseTap", () => {
  test("ok, not ok with its output, skip with and without a reason", () => {
    const t = parseTap(TAP);
    expect(t.map((x) => [x.name, x.outcome])).toEqual([
      ["runc run", "ok"],
      ["runc exec --user", "fail"],
      ["runc run [tty]", "skip"],
      ["runc kill", "skip"],
    ]);
    expect(t[1]!.detail).toContain("bunc: exec: something");
    expect(t[2]!.detail).toEqual(["test requires rootless"]);
  });

  test("a test the plan announces but the output lacks is a failure", () => {
    const t = parseTap("1..3\nok 1 a\n");
    expect(t.map((x) => x.outcome)).toEqual(["ok", "fail", "fail"]);
  });

  test("a file bats never ran gives nothing", () => {
    expect(parseTap("")).toEqual([]);
  });
});

describe("parseAllowList", () => {
  test("each entry needs a file, a test, a kind and a reason", () => {
    expect(() => parseAllowList(`[{"file":"x.bats","test":"t","kind":"to fix"}]`)).toThrow(/why/);
    expect(() => parseAllowList(`[{"file":"x","test":"t","kind":"to fix","why":"w"}]`)).toThrow(/\.bats/);
    expect(() => parseAllowList(`[{"file":"x.bats","test":"t","kind":"maybe","why":"w"}]`)).toThrow(/kind/);
    expect(parseAllowList(`[{"file":"x.bats","test":"*","kind":"by design","why":"w"}]`)).toHaveLength(1);
  });

  test("the committed allow-list is valid and names help.bats and version.bats by design", () => {
    const list = parseAllowList(readFileSync(path.resolve(import.meta.dir, "../runc-suite-allow.json"), "utf8"));
    for (const e of list) if (e.file !== "help.bats" && e.file !== "version.bats") expect(e.kind).toBe("to fix");
  });
});

describe("compare", () => {
  const runc = new Map([["a.bats", parseTap("1..3\nok 1 one\nok 2 two\nnot ok 3 three\n")], ["b.bats", parseTap("1..1\nok 1 four\n")]]);
  const bunc = new Map([["a.bats", parseTap("1..3\nok 1 one\nnot ok 2 two\n# boom\nok 3 three\n")], ["b.bats", parseTap("1..1\nnot ok 1 four\n")]]);

  test("a runc-ok test bunc fails is a regression unless allowed, by name or by file", () => {
    const none = compare(["a.bats", "b.bats"], runc, bunc, []);
    expect(none.regressions.map((d) => [d.test, d.allowed])).toEqual([
      ["two", undefined],
      ["four", undefined],
    ]);
    expect(none.regressions[0]!.detail).toEqual(["boom"]);
    expect(none.buncOnly.map((d) => d.test)).toEqual(["three"]);
    expect(none.runcFails.map((d) => d.test)).toEqual(["three"]);

    const allow = parseAllowList(`[{"file":"a.bats","test":"two","kind":"to fix","why":"w"},{"file":"b.bats","test":"*","kind":"by design","why":"w"},{"file":"a.bats","test":"one","kind":"to fix","why":"fixed"}]`);
    const c = compare(["a.bats", "b.bats"], runc, bunc, allow);
    expect(c.regressions.every((d) => d.allowed)).toBe(true);
    expect(c.stale.map((a) => a.test)).toEqual(["one"]);
  });

  test("a file bats could not run under bunc fails every test runc passes", () => {
    const c = compare(["b.bats"], runc, new Map(), []);
    expect(c.regressions.map((d) => d.test)).toEqual(["four"]);
    expect(c.rows[0]).toEqual({ file: "b.bats", tests: 1, runc: { ok: 1, fail: 0, skip: 0 }, bunc: { ok: 0, fail: 0, skip: 0 } });
  });

  test("the report has the table, the differences and their verdicts", () => {
    const c = compare(["a.bats", "b.bats"], runc, bunc, parseAllowList(`[{"file":"a.bats","test":"two","kind":"to fix","why":"the cwd"}]`));
    expect(renderTable(c)).toContain("| a.bats | 3 | 2 | 1 | 0 | **2** | 1 | 0 |");
    expect(renderTable(c)).toContain("| **all** | 4 | 3 | 1 | 0 | 2 | 2 | 0 |");
    const md = renderReport(c, { source: "runc_1.1.5", date: "d", kernel: "k", cgroup: "v1", runc: { version: "runc", seconds: 61 }, bunc: { version: "bunc" }, partial: false });
    expect(md).toContain("- a.bats: `two` — to fix: the cwd");
    expect(md).toContain("- b.bats: `four` — **NEW: not in the allow-list**");
    expect(md).toContain("runc, 1 min 1 s");
  });
});

describe("a second run of the differences", () => {
  const runc = new Map([["a.bats", parseTap("1..2\nok 1 one\nok 2 two\n")]]);
  const bunc = new Map([["a.bats", parseTap("1..2\nnot ok 1 one\nnot ok 2 two\n")]]);

  test("one that passes alone is flaky and does not fail the run; one that fails again does", () => {
    const first = compare(["a.bats"], runc, bunc, []);
    expect(retryList(first).map((d) => d.test)).toEqual(["one", "two"]);
    const again = new Map([["a.bats", parseTap("1..2\nok 1 one\nnot ok 2 two\n")]]);
    const c = compare(["a.bats"], runc, bunc, [], again);
    expect(failing(c).map((d) => d.test)).toEqual(["two"]);
    expect(c.regressions.find((d) => d.test === "one")?.flaky).toBe(true);
  });

  test("the filter matches exactly the names given, as bash's =~ reads it (bats --filter)", () => {
    const names = ["runc run [tty owner] ({u,g}id != 0)", "global --debug to --log --log-format 'json'", "a.b*c"];
    const pattern = filterFor(names);
    const all = [...names, "runc run [tty owner]", "global --debug", "aXbbc"];
    const script = 'for n in "${@:2}"; do [[ "$n" =~ $1 ]] && echo "$n"; done; true';
    const p = Bun.spawnSync(["bash", "-c", script, "bash", pattern, ...all]);
    expect(p.stdout.toString().trim().split("\n")).toEqual(names);
  });
});
