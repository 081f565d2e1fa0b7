/**
 * The help text of bunc and of each verb, rendered from the same citty
 * definitions the flags are parsed with — and, at build time, the man pages
 * and shell completions (scripts/docs.ts), so no flag is ever described twice.
 * Plain text: one column of flags, left-aligned, no colours, no trailing spaces.
 */
import type { ArgDef, ArgsDef } from "citty";

/** What the renderers need of a command: its name, one-line description and flags. */
export interface CommandText {
  name: string;
  description: string;
  args: ArgsDef;
}

/** The text a command's citty definition holds (ours are plain objects, never functions). */
export function commandText(def: { meta?: unknown; args?: unknown }): CommandText {
  const meta = (def.meta ?? {}) as { name?: string; description?: string };
  return { name: meta.name ?? "", description: meta.description ?? "", args: (def.args ?? {}) as ArgsDef };
}

/** A positional's name in a synopsis: <ID> when required, [SIGNAL] when not; valueHint verbatim. */
function positionalName(name: string, a: ArgDef): string {
  if (a.valueHint) return a.valueHint;
  const upper = name.toUpperCase().replace(/-/g, "_");
  return a.required ? `<${upper}>` : `[${upper}]`;
}

/** A flag as it is typed: "-e, --env <ENV>" (one dash for a one-letter alias). */
export function flagName(name: string, a: ArgDef): string {
  const aliases = [(a as { alias?: string | string[] }).alias ?? []].flat().map((x) => (x.length === 1 ? `-${x}` : `--${x}`));
  const value = a.type === "string" ? ` <${a.valueHint ?? name.toUpperCase().replace(/-/g, "_")}>` : "";
  return [...aliases, `--${name}`].join(", ") + value;
}

/** A flag's description with its default, as runc's help shows it. */
export function flagDescription(a: ArgDef): string {
  const text = a.description ?? "";
  return a.type === "string" && a.default !== undefined && a.default !== "" ? `${text} (default: ${String(a.default)})` : text;
}

/** The flags of a command, positionals excluded, in definition order. */
export function flags(args: ArgsDef): [string, ArgDef][] {
  return Object.entries(args).filter(([, a]) => a.type !== "positional");
}

/** The positionals of a command, in order. */
export function positionals(args: ArgsDef): [string, ArgDef][] {
  return Object.entries(args).filter(([, a]) => a.type === "positional");
}

/** "bunc exec [OPTIONS] <ID> <COMMAND> [ARGS…]" */
export function synopsis(cmd: CommandText, parent?: CommandText): string {
  const words = [parent ? `${parent.name} ${cmd.name}` : cmd.name];
  if (flags(cmd.args).length > 0) words.push("[OPTIONS]");
  for (const [name, a] of positionals(cmd.args)) words.push(positionalName(name, a));
  return words.join(" ");
}

/** Two left-aligned columns, no trailing spaces. */
function table(rows: [string, string][]): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => (right ? `  ${left.padEnd(width)}   ${right}` : `  ${left}`));
}

/** The help of bunc itself (with its verbs) or of one verb (parent given). */
export function helpText(cmd: CommandText, parent?: CommandText, verbs?: CommandText[]): string {
  const lines = [`${parent ? `${parent.name} ${cmd.name}` : cmd.name} - ${cmd.description}`, "", `Usage: ${synopsis(cmd, parent)}${verbs ? " COMMAND [COMMAND OPTIONS] [ARGUMENTS…]" : ""}`];
  const pos = positionals(cmd.args);
  if (pos.length > 0) lines.push("", "Arguments:", ...table(pos.map(([name, a]) => [positionalName(name, a), a.description ?? ""])));
  if (verbs) lines.push("", "Commands:", ...table(verbs.map((v) => [v.name, v.description])));
  const f = flags(cmd.args);
  if (f.length > 0) lines.push("", parent ? "Options:" : "Global options (before the command):", ...table(f.map(([name, a]) => [flagName(name, a), flagDescription(a)])));
  const full = parent ? `${parent.name} ${cmd.name}` : cmd.name;
  if (verbs) lines.push("", `Run '${full} help COMMAND' or '${full} COMMAND --help' for a command's options.`);
  return lines.join("\n") + "\n";
}
