/**
 * The pure half of the benchmark (scripts/bench.ts): the results' shape,
 * hyperfine's JSON, ratios, the targets, and the markdown table and SVG
 * chart made from them. No I/O here, so test/unit/bench-*.test.ts can run it
 * on tiny inputs in CI.
 */
import type { ClientResults, TraceCall } from "./clients";
import type { TimingResult } from "./interleave";
import type { VerbResults } from "./verbs";

/** One measured figure, or why it could not be measured. */
export type Figure = { value: number; sd?: number; note?: string } | { na: string };

/** A runtime as one setting ran it. */
export interface RuntimeRun {
  /** Column key: "bunc", "runc", "crun", or a variant such as "crun-nocg". */
  key: string;
  /** Column heading. */
  label: string;
  /** The global flags it ran with, for the record. */
  argv: string[];
}

/** Everything measured in one cgroup setting (host, v1-only view, v2-only view). */
export interface SettingResult {
  id: string;
  title: string;
  /** How the setting was made and what differs in its bundle. */
  how: string;
  runtimes: RuntimeRun[];
  /** metric id → runtime key → figure. */
  figures: Record<string, Record<string, Figure>>;
}

/** A yes/no target that is not a timing (e.g. "no executable copy per container"). */
export interface Check {
  name: string;
  ok: boolean | undefined;
  detail: string;
}

/** One row of the image table: running a command in an OCI image archive, one way. */
export interface ImageRow {
  id: string;
  label: string;
  how: string;
  figure: Figure;
}

export interface BenchResults {
  /** When, where and with what the figures were taken. */
  conditions: Record<string, string>;
  settings: SettingResult[];
  /** Executable size per runtime key, bytes. */
  sizes: Record<string, Figure>;
  checks: Check[];
  /** Iteration counts used, for the labels. */
  counts: { runs: number; seq: number; par: number };
  /** `bunc image run` beside umoci + runc and podman (host setting), when measured. */
  images?: ImageRow[];
  /** Each verb beside the floor, interleaved (scripts/_bench/verbs.ts), on the host setting. */
  verbs?: VerbResults;
  /** Through podman and containerd, interleaved, and what each called (scripts/_bench/clients.ts). */
  clients?: ClientResults;
}

export type Unit = "ms" | "s" | "KiB" | "bytes";

export interface MetricDef {
  id: string;
  label: (c: BenchResults["counts"]) => string;
  unit: Unit;
  how: string;
  /** Drawn in the latency chart. */
  chart?: boolean;
}

/** The rows of each setting's table, in order. */
export const METRICS: MetricDef[] = [
  { id: "run", label: () => "`run` /bin/true, mean", unit: "ms", how: "hyperfine -N mean (create+start+wait+delete)", chart: true },
  { id: "run.median", label: () => "`run` /bin/true, median", unit: "ms", how: "hyperfine -N median" },
  { id: "create", label: () => "`create`", unit: "ms", how: "hyperfine -N mean; --prepare deletes the last one", chart: true },
  { id: "start", label: () => "`start`", unit: "ms", how: "hyperfine -N mean; --prepare creates a fresh one", chart: true },
  { id: "delete", label: () => "`delete` (stopped)", unit: "ms", how: "hyperfine -N mean; --prepare creates, starts and waits until stopped", chart: true },
  { id: "state", label: () => "`state`", unit: "ms", how: "hyperfine -N mean, of a created container", chart: true },
  { id: "version", label: () => "`--version`", unit: "ms", how: "hyperfine -N mean (start-up of the executable)", chart: true },
  { id: "exec", label: () => "`exec` /bin/true", unit: "ms", how: "hyperfine -N mean, into a running `sleep` container", chart: true },
  { id: "seq.cpu", label: (c) => `${c.seq} × \`run\` in sequence: CPU (user+sys)`, unit: "s", how: "/usr/bin/time of a subreaper shell loop: rusage of the runtime and every descendant" },
  { id: "seq.wall", label: (c) => `${c.seq} × \`run\` in sequence: wall`, unit: "s", how: "/usr/bin/time %e of the same loop" },
  { id: "par.wall", label: (c) => `${c.par} × \`run\` in parallel: wall`, unit: "s", how: "median wall time of 3 rounds (sh: N background runs, wait)" },
  { id: "create.maxrss", label: () => "peak RSS of `create`", unit: "KiB", how: "/usr/bin/time %M (ru_maxrss of the runtime and the children it reaped), median of 3" },
  { id: "waiting.rss", label: () => "created container's waiting process: RSS", unit: "KiB", how: "VmRSS of state's pid, median of 3" },
  { id: "waiting.pss", label: () => "created container's waiting process: PSS", unit: "KiB", how: "Pss in /proc/PID/smaps_rollup (shared pages split), median of 3" },
  { id: "memlimit", label: () => "smallest memory limit `run` succeeds under", unit: "bytes", how: "linux.resources.memory.limit in config.json, tried 256k…8M" },
];

export interface HyperfineStats {
  mean: number;
  median: number;
  stddev: number;
  min: number;
  max: number;
  runs: number;
}

/** The first result of a `hyperfine --export-json` file, in milliseconds. */
export function parseHyperfine(json: string): HyperfineStats {
  const doc = JSON.parse(json) as { results?: { mean: number; median: number; stddev: number | null; min: number; max: number; times: number[] }[] };
  const r = doc.results?.[0];
  if (!r || typeof r.mean !== "number") throw new Error("hyperfine JSON has no results");
  const ms = (s: number) => s * 1000;
  return { mean: ms(r.mean), median: ms(r.median), stddev: ms(r.stddev ?? 0), min: ms(r.min), max: ms(r.max), runs: r.times.length };
}

/** Parse `/usr/bin/time -f "%e %U %S"` output (its last line): wall, user, system in seconds. */
export function parseTime(text: string): { wall: number; user: number; sys: number } {
  const line = text.trim().split("\n").pop() ?? "";
  const [wall, user, sys] = line.trim().split(/\s+/).map(Number);
  if (![wall, user, sys].every((n) => Number.isFinite(n))) throw new Error(`cannot parse /usr/bin/time output: ${JSON.stringify(line)}`);
  return { wall: wall!, user: user!, sys: sys! };
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function measured(f: Figure | undefined): number | undefined {
  return f && "value" in f && Number.isFinite(f.value) && f.value > 0 ? f.value : undefined;
}

/** bunc ÷ other (below 1: bunc is faster or smaller), or undefined when either is not a measured number. */
export function ratio(bunc: Figure | undefined, other: Figure | undefined): number | undefined {
  const a = measured(bunc);
  const b = measured(other);
  return a === undefined || b === undefined ? undefined : a / b;
}

/** A ratio for the table: "0.42×", or "n/a". */
export function formatRatio(r: number | undefined): string {
  if (r === undefined) return "n/a";
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×`;
}

function formatNumber(v: number, unit: Unit): string {
  switch (unit) {
    case "ms":
      return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
    case "s":
      return `${v.toFixed(3)} s`;
    case "KiB":
      return v >= 1024 ? `${(v / 1024).toFixed(1)} MiB` : `${Math.round(v)} KiB`;
    case "bytes":
      if (v >= 1 << 20) return `${+(v / (1 << 20)).toFixed(1)} MiB`;
      if (v >= 1024) return `${+(v / 1024).toFixed(1)} KiB`;
      return `${v} B`;
  }
}

/** A figure for the table: "12.3 ± 0.4 ms", its note when it has one, or "n/a: why". */
export function formatFigure(f: Figure | undefined, unit: Unit): string {
  if (!f) return "n/a: not measured";
  if ("na" in f) return `n/a: ${f.na}`;
  if (!Number.isFinite(f.value)) return f.note ?? "n/a";
  const sd = f.sd !== undefined && unit === "ms" ? ` ± ${f.sd < 10 ? f.sd.toFixed(2) : f.sd.toFixed(1)}` : "";
  const base = formatNumber(f.value, unit);
  const text = sd ? base.replace(/ ms$/, `${sd} ms`) : base;
  return f.note ? `${text} (${f.note})` : text;
}

/** Markdown table cells cannot hold "|" or newlines. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

/** The reference columns ratios are taken against, when the setting has them. */
const REFERENCES = ["runc", "crun"];

/** One setting's table: a row per metric, a column per runtime, then bunc ÷ runc and bunc ÷ crun. */
export function renderSettingTable(s: SettingResult, counts: BenchResults["counts"]): string {
  const refs = REFERENCES.filter((k) => s.runtimes.some((r) => r.key === k));
  const head = ["measure", ...s.runtimes.map((r) => r.label), ...refs.map((k) => `bunc ÷ ${k}`), "how"];
  const lines = [row(head), row(head.map(() => "---"))];
  for (const m of METRICS) {
    const figs = s.figures[m.id] ?? {};
    lines.push(row([m.label(counts), ...s.runtimes.map((r) => formatFigure(figs[r.key], m.unit)), ...refs.map((k) => formatRatio(ratio(figs.bunc, figs[k]))), m.how]));
  }
  return lines.join("\n");
}

export interface TargetRow {
  target: string;
  setting: string;
  figure: string;
  met: boolean | undefined;
}

function fig(r: BenchResults, setting: string, metric: string, key: string): Figure | undefined {
  return r.settings.find((s) => s.id === setting)?.figures[metric]?.[key];
}

/** The issue's targets, judged against the figures (undefined: could not be judged). */
export function evaluateTargets(r: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const s of r.settings) {
    const hasCrun = s.runtimes.some((x) => x.key === "crun");
    const vsCrun = ratio(fig(r, s.id, "run", "bunc"), fig(r, s.id, "run", "crun"));
    if (hasCrun) rows.push({ target: "`run` latency ≤ crun's", setting: s.id, figure: `bunc ÷ crun = ${formatRatio(vsCrun)}`, met: vsCrun === undefined ? undefined : vsCrun <= 1 });
    const vsRunc = ratio(fig(r, s.id, "run", "bunc"), fig(r, s.id, "run", "runc"));
    rows.push({ target: "`run` latency ≥ 3× faster than runc", setting: s.id, figure: vsRunc === undefined ? "n/a" : `runc ÷ bunc = ${(1 / vsRunc).toFixed(2)}×`, met: vsRunc === undefined ? undefined : vsRunc <= 1 / 3 });
    const cpu = ratio(fig(r, s.id, "seq.cpu", "bunc"), fig(r, s.id, "seq.cpu", "crun"));
    if (hasCrun) rows.push({ target: `${r.counts.seq} sequential containers: CPU ≤ crun's`, setting: s.id, figure: `bunc ÷ crun = ${formatRatio(cpu)}`, met: cpu === undefined ? undefined : cpu <= 1 });
    const lim = fig(r, s.id, "memlimit", "bunc");
    const limOk = lim && "value" in lim ? Number.isFinite(lim.value) && lim.value <= 1 << 20 : undefined;
    rows.push({ target: "container runs under a 1 MiB memory limit", setting: s.id, figure: `bunc: ${formatFigure(lim, "bytes")}`, met: limOk });
  }
  rows.push(...issue16Targets(r));
  for (const c of r.checks) rows.push({ target: c.name, setting: "host", figure: c.detail, met: c.ok });
  return rows;
}

function timingRatio(a: TimingResult | undefined, b: TimingResult | undefined): number | undefined {
  return a && b && "wall" in a && "wall" in b && b.wall > 0 ? a.wall / b.wall : undefined;
}

function within(r: number | undefined, limit: number): boolean | undefined {
  return r === undefined ? undefined : r <= limit;
}

/** Issue 16's targets: through the clients, each verb against the floor and runc, the waiting process's memory. */
export function issue16Targets(r: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  if (r.clients)
    for (const [sc, t] of Object.entries(r.clients.timings)) {
      const x = timingRatio(t.bunc, t.runc);
      rows.push({ target: `${sc}: bunc ≤ 0.9× runc`, setting: "host", figure: `bunc ÷ runc = ${formatRatio(x)}`, met: within(x, 0.9) });
    }
  if (r.verbs) {
    const t = r.verbs.timings;
    const v = timingRatio(t["--version"]?.bunc, t["--version"]?.floor);
    rows.push({ target: "`--version` ≤ 1.1× the floor", setting: "host", figure: `bunc ÷ floor = ${formatRatio(v)}`, met: within(v, 1.1) });
    for (const verb of ["state", "list", "kill", "delete", "start"]) {
      const x = timingRatio(t[verb]?.bunc, t["--version"]?.floor);
      rows.push({ target: `\`${verb}\` ≤ 1.25× the floor`, setting: "host", figure: `bunc ÷ floor = ${formatRatio(x)}`, met: within(x, 1.25) });
    }
    for (const verb of ["run", "create", "exec"]) {
      const x = timingRatio(t[verb]?.bunc, t[verb]?.runc);
      rows.push({ target: `\`${verb}\` ≤ 0.6× runc`, setting: "host", figure: `bunc ÷ runc = ${formatRatio(x)}`, met: within(x, 0.6) });
    }
  }
  for (const s of r.settings) {
    if (!s.runtimes.some((x) => x.key === "crun")) continue;
    for (const [m, what] of [["waiting.rss", "RSS"], ["waiting.pss", "PSS"]] as const) {
      const x = ratio(s.figures[m]?.bunc, s.figures[m]?.crun);
      rows.push({ target: `created container's waiting process: ${what} ≤ crun's`, setting: s.id, figure: `bunc ÷ crun = ${formatRatio(x)} (${formatFigure(s.figures[m]?.bunc, "KiB")} against ${formatFigure(s.figures[m]?.crun, "KiB")})`, met: x === undefined ? undefined : x <= 1 });
    }
  }
  return rows;
}

function formatTiming(t: TimingResult | undefined, cpu = false): string {
  if (!t) return "n/a: not measured";
  if ("na" in t) return `n/a: ${t.na}`;
  const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  return `${ms(t.wall)} ms (${ms(t.q1)}–${ms(t.q3)})${cpu && Number.isFinite(t.cpu) ? `, CPU ${ms(t.cpu)}` : ""}`;
}

/** The verbs-against-the-floor table. */
export function renderVerbs(v: VerbResults): string {
  const keys = [...new Set(Object.values(v.timings).flatMap((t) => Object.keys(t)))].filter((k) => k !== "floor");
  const floor = v.timings["--version"]?.floor;
  const head = ["verb", ...keys, ...keys.map((k) => `${k} ÷ floor`), "bunc ÷ runc"];
  const lines = [
    `Medians of ${v.rounds} interleaved rounds (quartiles in brackets; CPU = user+sys of the runtime and the children it reaped); load average ${v.load}. Floor (a hello-world compiled by the same Bun with bunc's build options, writing its line as bunc does): ${formatTiming(floor, true)}.`,
    "",
    row(head),
    row(head.map(() => "---")),
  ];
  for (const [verb, t] of Object.entries(v.timings)) lines.push(row([`\`${verb}\``, ...keys.map((k) => formatTiming(t[k], true)), ...keys.map((k) => formatRatio(timingRatio(t[k], floor))), formatRatio(timingRatio(t.bunc, t.runc))]));
  return lines.join("\n");
}

function traceTable(calls: TraceCall[] | { na: string } | undefined): string[] {
  if (!calls) return ["n/a: not traced"];
  if ("na" in calls) return [`n/a: ${calls.na}`];
  const lines = [row(["#", "verb", "flags (global · verb's)", "wall", "CPU", "exit"]), row(["---", "---", "---", "---", "---", "---"])];
  calls.forEach((c, i) => lines.push(row([String(i + 1), c.verb, c.flags ? `\`${c.flags}\`` : "", `${c.wallMs.toFixed(1)} ms`, `${c.cpuMs.toFixed(1)} ms`, String(c.exit)])));
  const wall = calls.reduce((a, c) => a + c.wallMs, 0);
  const cpu = calls.reduce((a, c) => a + c.cpuMs, 0);
  lines.push(row(["", `**${calls.length} calls**`, "", `**${wall.toFixed(1)} ms**`, `**${cpu.toFixed(1)} ms**`, ""]));
  return lines;
}

/** The client scenarios' table and, per scenario, each runtime's calls. */
export function renderClients(c: ClientResults): string {
  if (c.na) return `n/a: ${c.na}`;
  const keys = [...new Set(Object.values(c.timings).flatMap((t) => Object.keys(t)))];
  const head = ["scenario", ...keys, ...keys.filter((k) => k !== "bunc").map((k) => `bunc ÷ ${k}`)];
  const lines = [
    `Wall time of the whole client command series, medians of ${c.rounds} interleaved rounds (quartiles in brackets); load average ${c.load}. The runtimes run under a private podman (cgroupfs, conmon) and a private containerd (io.containerd.runc.v2 with \`--runc-binary\`), as test/clients/setup.ts makes them.`,
    "",
    row(head),
    row(head.map(() => "---")),
  ];
  for (const [sc, t] of Object.entries(c.timings)) lines.push(row([sc, ...keys.map((k) => formatTiming(t[k])), ...keys.filter((k) => k !== "bunc").map((k) => formatRatio(timingRatio(t.bunc, t[k])))]));
  lines.push("", "### What each client calls", "", `One traced round: each runtime's path given to the client is a small C wrapper (scripts/_bench/trace-wrapper.c) that runs the runtime as its child and logs its argv, wall time and rusage. The wrapper's own cost, the same for every runtime and not in the figures below: ${c.wrapperMs === undefined ? "n/a" : `${c.wrapperMs.toFixed(2)} ms a call`} (wrapped /bin/true − /bin/true, interleaved medians).`);
  for (const [sc, per] of Object.entries(c.traces)) {
    lines.push("", `#### ${sc}`);
    for (const k of keys) lines.push("", `${k}:`, "", ...traceTable(per[k]));
  }
  return lines.join("\n");
}

function metText(m: boolean | undefined): string {
  return m === undefined ? "n/a" : m ? "yes" : "**no**";
}

/** The generated part of results/bench.md. */
export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push("## Conditions", "");
  for (const [k, v] of Object.entries(r.conditions)) out.push(`- ${k}: ${v}`);
  out.push("", "Ratios are bunc ÷ the other runtime, within one setting only: below 1× bunc is faster (or smaller).", "");
  out.push("## Targets", "", row(["target", "setting", "figure", "met"]), row(["---", "---", "---", "---"]));
  for (const t of evaluateTargets(r)) out.push(row([t.target, t.setting, t.figure, metText(t.met)]));
  for (const s of r.settings) {
    out.push("", `## Setting \`${s.id}\`: ${s.title}`, "", s.how, "");
    out.push(`Runtimes: ${s.runtimes.map((x) => `${x.label} = \`${x.argv.join(" ")}\``).join("; ")}.`, "");
    out.push(renderSettingTable(s, r.counts));
  }
  if (r.images) {
    const repeat = r.images.find((x) => x.id === "bunc.repeat")?.figure;
    out.push("", "## Images: a command in an OCI image archive (host setting)", "", row(["measure", "mean", "bunc image run (repeated) ÷ this", "how"]), row(["---", "---", "---", "---"]));
    for (const x of r.images) out.push(row([x.label, formatFigure(x.figure, "ms"), formatRatio(ratio(repeat, x.figure)), x.how]));
  }
  if (r.verbs) out.push("", "## Each verb against the floor (interleaved, setting `host`)", "", renderVerbs(r.verbs));
  if (r.clients) out.push("", "## Through podman and containerd (interleaved, setting `host`)", "", renderClients(r.clients));
  out.push("", "## Executable size", "", row(["runtime", "size", "bunc ÷ this"]), row(["---", "---", "---"]));
  for (const [k, f] of Object.entries(r.sizes)) out.push(row([k, formatFigure(f, "bytes"), formatRatio(ratio(r.sizes.bunc, f))]));
  return out.join("\n") + "\n";
}

export const BEGIN = "<!-- bench:begin (generated by scripts/bench.ts; edit outside these markers) -->";
export const END = "<!-- bench:end -->";

/** Put the generated block into the document between the markers, keeping the hand-written rest. */
export function mergeIntoDoc(existing: string | undefined, block: string): string {
  const generated = `${BEGIN}\n${block}${END}`;
  if (existing) {
    const a = existing.indexOf(BEGIN);
    const b = existing.indexOf(END);
    if (a >= 0 && b > a) return existing.slice(0, a) + generated + existing.slice(b + END.length);
  }
  return `# bunc benchmark\n\n![latencies](bench.svg)\n\n${generated}\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const COLOURS: Record<string, string> = { bunc: "#f472b6", runc: "#60a5fa", crun: "#34d399", "crun-nocg": "#a7f3d0" };

/**
 * A horizontal bar chart of the latency metrics (METRICS with chart: true):
 * one group per setting × metric, one bar per runtime, each labelled with
 * its value, or "n/a" where it was not measured. Linear scale, per chart.
 */
export function renderSvg(r: BenchResults): string {
  const metrics = METRICS.filter((m) => m.chart);
  type Group = { title: string; bars: { key: string; label: string; f: Figure | undefined }[] };
  const groups: Group[] = [];
  for (const s of r.settings)
    for (const m of metrics)
      groups.push({ title: `${s.id} · ${m.label(r.counts).replace(/`/g, "")}`, bars: s.runtimes.map((x) => ({ key: x.key, label: x.label, f: s.figures[m.id]?.[x.key] })) });
  const values = groups.flatMap((g) => g.bars.map((b) => (b.f && "value" in b.f && Number.isFinite(b.f.value) ? b.f.value : 0)));
  const max = Math.max(1e-9, ...values);
  const left = 230;
  const width = 820;
  const barArea = width - left - 110;
  const barH = 11;
  const gap = 10;
  const top = 40;
  let y = top;
  const parts: string[] = [];
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + barH}" class="g">${xml(g.title)}</text>`);
    for (const b of g.bars) {
      const v = b.f && "value" in b.f && Number.isFinite(b.f.value) ? b.f.value : undefined;
      const w = v === undefined ? 0 : Math.max(1, (v / max) * barArea);
      parts.push(`<text x="${left - 6}" y="${y + barH - 2}" class="r">${xml(b.label)}</text>`);
      if (v !== undefined) parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLOURS[b.key] ?? "#9ca3af"}"/>`);
      parts.push(`<text x="${left + w + 4}" y="${y + barH - 2}" class="v">${xml(v === undefined ? "n/a" : formatFigure({ value: v }, "ms"))}</text>`);
      y += barH + 2;
    }
    y += gap;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<style>.g{font-weight:bold}.r{text-anchor:end;fill:#374151}.v{fill:#111827}</style>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="20" font-size="13" font-weight="bold">bunc, runc and crun latencies (mean, ms; shorter is faster; compare within a setting)</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
