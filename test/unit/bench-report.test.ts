/** scripts/_bench/report.ts: hyperfine JSON, /usr/bin/time, ratios, targets, the markdown table and the SVG, on tiny inputs. */
import { describe, expect, test } from "bun:test";
import {
  BEGIN,
  END,
  evaluateTargets,
  formatFigure,
  formatRatio,
  median,
  mergeIntoDoc,
  parseHyperfine,
  parseTime,
  ratio,
  renderMarkdown,
  renderSettingTable,
  renderSvg,
  type BenchResults,
} from "../../scripts/_bench/report";
import { parseTraceLine } from "../../scripts/_bench/clients";

const HYPERFINE = JSON.stringify({
  results: [{ command: "bunc run", mean: 0.012, stddev: 0.001, median: 0.0115, user: 0.004, system: 0.003, min: 0.011, max: 0.014, times: [0.011, 0.0115, 0.014], exit_codes: [0, 0, 0] }],
});

function results(): BenchResults {
  return {
    conditions: { date: "2026-01-01T00:00:00Z", note: "a | pipe" },
    counts: { runs: 3, seq: 5, par: 2 },
    sizes: { bunc: { value: 100 << 20 }, runc: { value: 10 << 20 }, crun: { na: "not installed" } },
    checks: [{ name: "no copy of the bunc executable per container", ok: true, detail: "memfd mappings: none" }],
    settings: [
      {
        id: "v1",
        title: "cgroup v1 only",
        how: "unshare -m",
        runtimes: [
          { key: "bunc", label: "bunc", argv: ["bunc"] },
          { key: "runc", label: "runc", argv: ["runc"] },
          { key: "crun", label: "crun", argv: ["crun"] },
        ],
        figures: {
          run: { bunc: { value: 6, sd: 0.5 }, runc: { value: 20, sd: 1 }, crun: { value: 6.4, sd: 0.2 } },
          "seq.cpu": { bunc: { value: 0.5 }, runc: { value: 1 }, crun: { value: 0.4 } },
          memlimit: { bunc: { value: 1 << 20, note: "✗512k ✓1M" }, runc: { value: Number.NaN, note: "fails at every limit tried" }, crun: { value: 512 << 10 } },
          exec: { bunc: { value: 3 }, runc: { na: "exec <failed> & \"quoted\"" }, crun: { value: 2 } },
        },
      },
      {
        id: "host",
        title: "hybrid",
        how: "as is",
        runtimes: [
          { key: "bunc", label: "bunc", argv: ["bunc"] },
          { key: "runc", label: "runc", argv: ["runc"] },
          { key: "crun", label: "crun", argv: ["crun"] },
        ],
        figures: { run: { bunc: { value: 10 }, runc: { value: 20 }, crun: { na: "cgroups in hybrid mode not supported" } } },
      },
    ],
  };
}

describe("parsing", () => {
  test("hyperfine JSON → milliseconds", () => {
    expect(parseHyperfine(HYPERFINE)).toEqual({ mean: 12, median: 11.5, stddev: 1, min: 11, max: 14, runs: 3 });
  });
  test("hyperfine JSON without results is refused", () => {
    expect(() => parseHyperfine('{"results":[]}')).toThrow();
  });
  test("a single run has a null stddev", () => {
    const one = JSON.parse(HYPERFINE);
    one.results[0].stddev = null;
    expect(parseHyperfine(JSON.stringify(one)).stddev).toBe(0);
  });
  test("/usr/bin/time -f '%e %U %S', last line", () => {
    expect(parseTime("Command exited with non-zero status 0\n1.50 0.25 0.75\n")).toEqual({ wall: 1.5, user: 0.25, sys: 0.75 });
    expect(() => parseTime("garbage")).toThrow();
  });
  test("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe("ratios and figures", () => {
  test("bunc ÷ other, only between measured numbers", () => {
    expect(ratio({ value: 5 }, { value: 20 })).toBe(0.25);
    expect(ratio({ value: 5 }, { na: "x" })).toBeUndefined();
    expect(ratio({ na: "x" }, { value: 5 })).toBeUndefined();
    expect(ratio({ value: Number.NaN }, { value: 5 })).toBeUndefined();
    expect(ratio({ value: 5 }, undefined)).toBeUndefined();
  });
  test("formatting", () => {
    expect(formatRatio(0.25)).toBe("0.25×");
    expect(formatRatio(12.34)).toBe("12.3×");
    expect(formatRatio(undefined)).toBe("n/a");
    expect(formatFigure({ value: 6.123, sd: 0.5 }, "ms")).toBe("6.12 ± 0.50 ms");
    expect(formatFigure({ value: 23.45 }, "ms")).toBe("23.4 ms");
    expect(formatFigure({ value: 2048 }, "KiB")).toBe("2.0 MiB");
    expect(formatFigure({ value: 1 << 20 }, "bytes")).toBe("1 MiB");
    expect(formatFigure({ value: 512 << 10, note: "✓512k" }, "bytes")).toBe("512 KiB (✓512k)");
    expect(formatFigure({ value: Number.NaN, note: "fails" }, "bytes")).toBe("fails");
    expect(formatFigure({ na: "why" }, "ms")).toBe("n/a: why");
    expect(formatFigure(undefined, "ms")).toBe("n/a: not measured");
  });
});

describe("targets", () => {
  test("judged within each setting; n/a when a figure is missing", () => {
    const t = evaluateTargets(results());
    const get = (setting: string, prefix: string) => t.find((r) => r.setting === setting && r.target.startsWith(prefix));
    expect(get("v1", "`run` latency ≤ crun")?.met).toBe(true); // 6 ≤ 6.4
    expect(get("v1", "`run` latency ≥ 3×")?.met).toBe(true); // 20 / 6 ≥ 3
    expect(get("v1", "5 sequential")?.met).toBe(false); // 0.5 > 0.4
    expect(get("v1", "container runs under")?.met).toBe(true);
    expect(get("host", "`run` latency ≤ crun")?.met).toBeUndefined(); // crun n/a
    expect(get("host", "`run` latency ≥ 3×")?.met).toBe(false); // 2×
    expect(get("host", "container runs under")?.met).toBeUndefined();
    expect(t.at(-1)).toMatchObject({ target: "no copy of the bunc executable per container", met: true });
  });
});

describe("markdown", () => {
  test("a row per metric, a column per runtime, ratios against runc and crun", () => {
    const r = results();
    const table = renderSettingTable(r.settings[0]!, r.counts).split("\n");
    expect(table[0]).toBe("| measure | bunc | runc | crun | bunc ÷ runc | bunc ÷ crun | how |");
    const run = table.find((l) => l.startsWith("| `run` /bin/true, mean"))!;
    expect(run).toContain("| 6.00 ± 0.50 ms | 20.0 ± 1.00 ms | 6.40 ± 0.20 ms | 0.30× | 0.94× |");
    // Unmeasured figures are reported, not dropped; a "|" in a reason is escaped.
    expect(table.find((l) => l.startsWith("| `exec`"))).toContain("n/a: exec <failed> & \"quoted\"");
    expect(table.find((l) => l.startsWith("| `start`"))).toContain("n/a: not measured");
    expect(table.find((l) => l.startsWith("| 5 × `run` in sequence: CPU"))).toBeDefined();
    for (const l of table) expect(l.split(/(?<!\\)\|/).length).toBe(table[0]!.split("|").length);
  });
  test("the document: conditions, targets, each setting, sizes", () => {
    const md = renderMarkdown(results());
    expect(md).toContain("- note: a | pipe");
    expect(md).toContain("## Setting `v1`: cgroup v1 only");
    expect(md).toContain("## Setting `host`: hybrid");
    expect(md).toContain("n/a: cgroups in hybrid mode not supported");
    expect(md).toContain("| crun | n/a: not installed | n/a |");
    expect(md).toContain("| runc | 10 MiB | 10.0× |");
  });
  test("the image table: each way with its mean, and bunc's repeated image run over it", () => {
    const r = results();
    expect(renderMarkdown(r)).not.toContain("## Images");
    r.images = [
      { id: "bunc.repeat", label: "repeated", how: "h1", figure: { value: 30 } },
      { id: "podman", label: "podman", how: "h2", figure: { value: 300 } },
      { id: "umoci.runc", label: "umoci", how: "h3", figure: { na: "umoci not installed" } },
    ];
    const md = renderMarkdown(r);
    expect(md).toContain("## Images: a command in an OCI image archive (host setting)");
    expect(md).toContain("| podman | 300");
    expect(md).toContain("| umoci | n/a: umoci not installed |");
  });
  test("the generated block replaces only what is between the markers", () => {
    const first = mergeIntoDoc(undefined, "one\n");
    expect(first).toContain(`${BEGIN}\none\n${END}`);
    const edited = `# mine\n\nintro\n\n${first.slice(first.indexOf(BEGIN))}\n## Profile\nhand-written\n`;
    const second = mergeIntoDoc(edited, "two\n");
    expect(second).toBe(`# mine\n\nintro\n\n${BEGIN}\ntwo\n${END}\n\n## Profile\nhand-written\n`);
  });
});

describe("svg", () => {
  const svg = renderSvg(results());
  test("well-formed enough: one root, balanced tags, escaped text", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect((svg.match(/<text/g) ?? []).length).toBe((svg.match(/<\/text>/g) ?? []).length);
    expect(svg).not.toMatch(/<text[^>]*>[^<]*[<>&][^<]*<\/text>/);
  });
  test("bars scale with the values; unmeasured ones say n/a", () => {
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // v1 run: bunc 6, runc 20 (the largest value: full width), crun 6.4; exec: bunc 3, crun 2; host run: bunc 10, runc 20.
    expect(widths.length).toBe(7);
    expect(Math.max(...widths)).toBeCloseTo(widths[1]!, 5);
    expect(widths[0]! / widths[1]!).toBeCloseTo(6 / 20, 2);
    expect(svg).toContain(">n/a</text>");
    expect(svg).toContain("v1 · run /bin/true, mean");
  });
});

describe("issue 16's targets and the client trace", () => {
  const t = (wall: number) => ({ wall, cpu: 1, q1: wall, q3: wall, runs: 1 });
  test("verbs against the floor and runc, client scenarios against runc, judged at the issue's limits", () => {
    const r = results();
    r.verbs = {
      rounds: 1,
      load: "1 1 1",
      timings: {
        "--version": { floor: t(4), bunc: t(4.3), runc: t(3) },
        state: { bunc: t(5.1), runc: t(4) },
        list: { bunc: t(4.9), runc: t(4) },
        run: { bunc: t(6), runc: t(10) },
        exec: { bunc: { na: "boom" }, runc: t(10) },
      },
    };
    r.clients = { rounds: 1, load: "1", timings: { "podman run --rm": { bunc: t(89), runc: t(100) }, "ctr run --rm": { bunc: t(95), runc: t(100) } }, traces: {} };
    const rows = evaluateTargets(r);
    const met = (prefix: string) => rows.find((x) => x.target.startsWith(prefix))?.met;
    expect(met("`--version` ≤ 1.1× the floor")).toBe(true); // 1.075
    expect(met("`state` ≤ 1.25× the floor")).toBe(false); // 1.275
    expect(met("`list` ≤ 1.25× the floor")).toBe(true); // 1.225
    expect(met("`run` ≤ 0.6× runc")).toBe(true);
    expect(met("`exec` ≤ 0.6× runc")).toBeUndefined();
    expect(met("podman run --rm: bunc ≤ 0.9× runc")).toBe(true);
    expect(met("ctr run --rm: bunc ≤ 0.9× runc")).toBe(false);
    // The v1 setting has crun: its waiting-process memory is judged against crun's.
    expect(rows.some((x) => x.setting === "v1" && x.target.startsWith("created container's waiting process: RSS"))).toBe(true);
    const md = renderMarkdown(r);
    expect(md).toContain("## Each verb against the floor");
    expect(md).toContain("| `state` | 5.10 ms (5.10–5.10), CPU 1.00 | 4.00 ms (4.00–4.00), CPU 1.00 | 1.27× | 1.00× | 1.27× |");
  });

  test("a logged runtime call: globals, verb, the verb's flags without values; a container's command is not flags", () => {
    expect(parseTraceLine("1500\t700\t300\t0\t--root\t/run/x\t--log\t/l\t--log-format\tjson\tcreate\t--bundle\t/b\t--pid-file\t/p\tid1")).toEqual({ verb: "create", flags: "--root --log --log-format · --bundle --pid-file", wallMs: 1.5, cpuMs: 1, exit: 0 });
    expect(parseTraceLine("1000\t0\t0\t4\texec\t--detach\tid\tsh\t-c\tx")).toMatchObject({ verb: "exec", flags: "· --detach", exit: 4 });
  });
});
