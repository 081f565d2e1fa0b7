/**
 * The peer suite's verdict: runc's bats files run under runc and under bunc
 * (TAP from `bats --tap`), compared test by test, against the committed
 * allow-list of known differences. Pure functions; scripts/runc-suite-report.ts
 * reads the files and writes the results.
 */

export type Outcome = "ok" | "fail" | "skip";

export interface TapTest {
  name: string;
  outcome: Outcome;
  /** The skip's reason, or the `# ` lines bats prints under a failure. */
  detail: string[];
}

export interface AllowEntry {
  file: string;
  /** The test's name as bats prints it, or "*" for every test of the file. */
  test: string;
  /** "by design" (the issue allows it) or "to fix" (temporary, with the cause). */
  kind: "by design" | "to fix";
  why: string;
}

const TEST_LINE = /^(ok|not ok) (\d+) (.*)$/;
const SKIP = / # skip(?: (.*))?$/;

/** Parse `bats --tap` output. A test the plan announces but the output lacks is a failure (bats died or was cut). */
export function parseTap(text: string): TapTest[] {
  const tests: TapTest[] = [];
  let planned = 0;
  for (const line of text.split("\n")) {
    const plan = /^1\.\.(\d+)$/.exec(line);
    if (plan) {
      planned = Number(plan[1]);
      continue;
    }
    const m = TEST_LINE.exec(line);
    if (m) {
      let name = m[3]!;
      const skip = m[1] === "ok" ? SKIP.exec(name) : null;
      if (skip) name = name.slice(0, skip.index);
      tests.push({ name, outcome: m[1] === "not ok" ? "fail" : skip ? "skip" : "ok", detail: skip?.[1] ? [skip[1]] : [] });
      continue;
    }
    const last = tests[tests.length - 1];
    if (line.startsWith("#") && last?.outcome === "fail") last.detail.push(line.replace(/^# ?/, ""));
  }
  for (let n = tests.length + 1; n <= planned; n++) tests.push({ name: `(test ${n}: no result, the run was cut)`, outcome: "fail", detail: [] });
  return tests;
}

/** Read and check the allow-list (JSON array of entries). */
export function parseAllowList(text: string): AllowEntry[] {
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error("the allow-list is not a JSON array");
  return list.map((e, i) => {
    const { file, test, kind, why } = (e ?? {}) as Record<string, unknown>;
    if (typeof file !== "string" || !file.endsWith(".bats")) throw new Error(`allow-list entry ${i}: file must name a .bats file`);
    if (typeof test !== "string" || test === "") throw new Error(`allow-list entry ${i}: test must be a test name or "*"`);
    if (kind !== "by design" && kind !== "to fix") throw new Error(`allow-list entry ${i}: kind must be "by design" or "to fix"`);
    if (typeof why !== "string" || why.trim() === "") throw new Error(`allow-list entry ${i}: why must say why`);
    return { file, test, kind, why };
  });
}

export interface FileRow {
  file: string;
  tests: number;
  runc: Record<Outcome, number>;
  bunc: Record<Outcome, number>;
}

export interface Difference {
  file: string;
  test: string;
  /** bunc's `# ` lines for the failure. */
  detail: string[];
  allowed?: AllowEntry;
  /** Not allowed, but it passed when run again alone under bunc. */
  flaky?: boolean;
}

export interface Comparison {
  rows: FileRow[];
  /** Tests runc passes and bunc does not: the gate. */
  regressions: Difference[];
  /** Tests bunc passes and runc does not (information). */
  buncOnly: Difference[];
  /** Tests runc fails on this host (information: what the host lacks, or runc's bugs). */
  runcFails: Difference[];
  /** Allow-list entries for the files compared that no longer match a difference: to be removed. */
  stale: AllowEntry[];
}

function count(tests: TapTest[]): Record<Outcome, number> {
  const c = { ok: 0, fail: 0, skip: 0 };
  for (const t of tests) c[t.outcome]++;
  return c;
}

function allowFor(allow: AllowEntry[], file: string, test: string): AllowEntry | undefined {
  return allow.find((a) => a.file === file && a.test === test) ?? allow.find((a) => a.file === file && a.test === "*");
}

/**
 * Compare the two runtimes' results, file by file, test by test (by name; bats
 * names are unique in a file). `retry` holds bunc's second run of the
 * differences the allow-list does not name: one that passed there is flaky.
 */
export function compare(files: string[], runc: Map<string, TapTest[]>, bunc: Map<string, TapTest[]>, allow: AllowEntry[], retry = new Map<string, TapTest[]>()): Comparison {
  const out: Comparison = { rows: [], regressions: [], buncOnly: [], runcFails: [], stale: [] };
  const used = new Set<AllowEntry>();
  for (const file of files) {
    const r = runc.get(file) ?? [];
    const b = bunc.get(file) ?? [];
    out.rows.push({ file, tests: Math.max(r.length, b.length), runc: count(r), bunc: count(b) });
    const byName = new Map(b.map((t) => [t.name, t]));
    for (const t of r) {
      const other = byName.get(t.name);
      if (t.outcome === "fail") out.runcFails.push({ file, test: t.name, detail: t.detail });
      if (t.outcome === "ok" && other?.outcome !== "ok") {
        const allowed = allowFor(allow, file, t.name);
        if (allowed) used.add(allowed);
        const flaky = !allowed && retry.get(file)?.some((x) => x.name === t.name && x.outcome === "ok");
        out.regressions.push({ file, test: t.name, detail: other ? other.detail : ["(no result under bunc)"], allowed, ...(flaky ? { flaky } : {}) });
      }
      if (t.outcome === "fail" && other?.outcome === "ok") out.buncOnly.push({ file, test: t.name, detail: [] });
    }
  }
  out.stale = allow.filter((a) => files.includes(a.file) && a.test !== "*" && !used.has(a));
  return out;
}

export interface RunInfo {
  source: string;
  date: string;
  kernel: string;
  cgroup: string;
  runc: { version: string; seconds?: number };
  bunc: { version: string; seconds?: number };
  partial: boolean;
}

function minutes(s?: number): string {
  return s === undefined ? "not run" : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The differences that fail the run: not allowed, and not passing on a second run. */
export function failing(c: Comparison): Difference[] {
  return c.regressions.filter((d) => !d.allowed && !d.flaky);
}

/** The differences to run again: those the allow-list does not name. */
export function retryList(c: Comparison): Difference[] {
  return c.regressions.filter((d) => !d.allowed);
}

/** A bats --filter pattern (a bash regex) matching exactly these test names. */
export function filterFor(names: string[]): string {
  return names.map((n) => "^" + n.replace(/[\][(){}.*+?^$|\\]/g, "\\$&") + "$").join("|");
}

function verdict(d: Difference): string {
  if (d.allowed) return `${d.allowed.kind}: ${d.allowed.why}`;
  return d.flaky ? "**flaky: failed, then passed when run again alone**" : "**NEW: not in the allow-list**";
}

/** The per-file table alone (also what README shows). */
export function renderTable(c: Comparison): string {
  const lines = ["| file | tests | runc ok | runc fail | runc skip | bunc ok | bunc fail | bunc skip |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
  const total = { tests: 0, runc: { ok: 0, fail: 0, skip: 0 }, bunc: { ok: 0, fail: 0, skip: 0 } };
  for (const r of c.rows) {
    const mark = c.regressions.some((d) => d.file === r.file) ? "**" : "";
    lines.push(`| ${r.file} | ${r.tests} | ${r.runc.ok} | ${r.runc.fail} | ${r.runc.skip} | ${mark}${r.bunc.ok}${mark} | ${r.bunc.fail} | ${r.bunc.skip} |`);
    total.tests += r.tests;
    for (const k of ["ok", "fail", "skip"] as const) {
      total.runc[k] += r.runc[k];
      total.bunc[k] += r.bunc[k];
    }
  }
  const t = total;
  lines.push(`| **all** | ${t.tests} | ${t.runc.ok} | ${t.runc.fail} | ${t.runc.skip} | ${t.bunc.ok} | ${t.bunc.fail} | ${t.bunc.skip} |`);
  return lines.join("\n");
}

/** The whole report as markdown. */
export function renderReport(c: Comparison, info: RunInfo): string {
  const out: string[] = [];
  out.push("# runc's integration suite under bunc", "");
  out.push("Generated by `scripts/runc-suite.sh`" + (info.partial ? " (a partial run: `--only`)" : "") + ": every `tests/integration/*.bats` of Debian's runc source package run with `RUNC=` each runtime, on one host.", "");
  out.push(`- source: ${info.source}`, `- date: ${info.date}`, `- kernel: ${info.kernel}, cgroups: ${info.cgroup}`);
  out.push(`- runc: ${info.runc.version}, ${minutes(info.runc.seconds)}`, `- bunc: ${info.bunc.version}, ${minutes(info.bunc.seconds)}`, "");
  out.push("A bold bunc ok: the file has tests runc passes and bunc does not.", "", renderTable(c), "");
  const news = failing(c);
  out.push(`## runc ok, bunc not ok (${c.regressions.length}; ${news.length} not in the allow-list)`, "");
  out.push("Each one is allowed by `test/runc-suite-allow.json` with its reason, or fails the run (unless it passes when run again alone: flaky).", "");
  for (const d of c.regressions) out.push(`- ${d.file}: \`${d.test}\` — ${verdict(d)}`);
  if (c.regressions.length === 0) out.push("None.");
  out.push("", `## bunc ok, runc not ok (${c.buncOnly.length})`, "");
  for (const d of c.buncOnly) out.push(`- ${d.file}: \`${d.test}\``);
  if (c.buncOnly.length === 0) out.push("None.");
  out.push("", `## runc not ok on this host (${c.runcFails.length})`, "");
  for (const d of c.runcFails) out.push(`- ${d.file}: \`${d.test}\``);
  if (c.runcFails.length === 0) out.push("None.");
  if (c.stale.length) {
    out.push("", `## Allow-list entries that no longer differ (${c.stale.length}): remove them`, "");
    for (const a of c.stale) out.push(`- ${a.file}: \`${a.test}\``);
  }
  return out.join("\n") + "\n";
}

/** A failure's lines worth reading: without where bats found it and without
 * remove_parent's rmdir of hierarchies set_cgroups_path never made (noise under both runtimes). */
export function excerpt(detail: string[]): string[] {
  return detail.filter((l) => !/^\((in|from) |^ in test file|^rmdir: failed to remove '\/sys\/fs\/cgroup\//.test(l));
}

/** bunc's failure output for each runc-ok test it fails (for developers; not committed). */
export function renderFailures(c: Comparison, maxLines = 25): string {
  const out = ["# runc ok, bunc not ok: bunc's output", ""];
  for (const d of c.regressions) {
    out.push(`## ${d.file}: ${d.test}`, "", `(${verdict(d)})`, "", "```");
    const lines = excerpt(d.detail);
    out.push(...(lines.length > maxLines ? ["…", ...lines.slice(-maxLines)] : lines), "```", "");
  }
  return out.join("\n");
}
