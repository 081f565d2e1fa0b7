/** Shared pieces of the verb definitions: the state store, strict flag checking, common flags. */
import type { ArgsDef } from "citty";
import type { CreateOptions } from "../container/create";
import { prepareXdgRoot, rootlessCgroups } from "../container/rootless";
import { Store } from "../container/store";
import { BuncError } from "../errors";
import { globals } from "./globals";
import { synopsis } from "./help";

/** The state store under --root. */
export function store(): Store {
  if (globals.xdgRoot) prepareXdgRoot(globals.root);
  return new Store(globals.root);
}

/**
 * citty accepts any flag; runc refuses one it does not know ("flag provided
 * but not defined"), and so does bunc, so a typo is never silently ignored.
 * Flags after "--" are not checked. The message is runc's, with one dash.
 */
export function checkFlags(rawArgs: readonly string[], def: ArgsDef): void {
  const known = new Set<string>(["help", "h"]);
  for (const [name, a] of Object.entries(def)) {
    if (a.type === "positional") continue;
    known.add(name);
    for (const alias of [(a as { alias?: string | string[] }).alias ?? []].flat()) known.add(alias);
  }
  const takesValue = (name: string) => Object.entries(def).some(([n, a]) => a.type === "string" && (n === name || [(a as { alias?: string | string[] }).alias ?? []].flat().includes(name)));
  const positionals = Object.values(def).filter((a) => a.type === "positional").length;
  let extra = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") {
      if (++extra > positionals) throw new BuncError(`too many arguments: ${JSON.stringify(arg)} (takes ${positionals})`, { code: "EINVAL" });
      continue;
    }
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    if (!known.has(name)) throw new BuncError(`flag provided but not defined: -${name}`, { code: "EINVAL" });
    if (!arg.includes("=") && takesValue(name) && i + 1 >= rawArgs.length) throw missingValue(name);
    if (!arg.includes("=") && takesValue(name)) i++;
  }
}

/**
 * Too few positionals: runc's words ("\"start\" requires exactly 1 argument(s)"),
 * exit 1, with the synopsis after them — never citty's "Missing required
 * positional argument". Counted up to "--"; a flag's value is not a positional.
 */
export function checkPositionals(verb: string, rawArgs: readonly string[], def: ArgsDef): void {
  const all = Object.values(def).filter((a) => a.type === "positional");
  const required = all.filter((a) => a.required).length;
  if (required === 0) return;
  const takesValue = (name: string) => Object.entries(def).some(([n, a]) => a.type === "string" && (n === name || [(a as { alias?: string | string[] }).alias ?? []].flat().includes(name)));
  let given = 0;
  for (let i = 0; i < rawArgs.length && given < required; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") given++;
    else if (!arg.includes("=") && takesValue(arg.replace(/^--?/, ""))) i++;
  }
  if (given >= required) return;
  const count = all.length === required ? `exactly ${required}` : `a minimum of ${required}`;
  throw new BuncError(`${JSON.stringify(verb)} requires ${count} argument(s): ${synopsis({ name: verb, description: "", args: def }, { name: "bunc", description: "", args: {} })}`, { code: "EINVAL" });
}

/** runc's words (podman probes `restore --lsm-mount-context` for them), and crun's. */
function missingValue(name: string): BuncError {
  return new BuncError(`flag needs an argument: -${name} (--${name} requires an argument)`, { code: "EINVAL" });
}

/**
 * A value-taking flag at the very end, before any positional, has no value.
 * Checked before citty parses, whose complaint would be the missing id instead.
 */
export function checkLastFlagValue(rawArgs: readonly string[], def: ArgsDef): void {
  const firstPositional = rawArgs.findIndex((a) => !a.startsWith("-") || a === "-" || a === "--");
  const last = rawArgs[rawArgs.length - 1];
  if (last === undefined || (firstPositional >= 0 && firstPositional < rawArgs.length - 1) || !last.startsWith("-") || last.includes("=")) return;
  const name = last.replace(/^--?/, "");
  const takes = Object.entries(def).some(([n, a]) => a.type === "string" && (n === name || [(a as { alias?: string | string[] }).alias ?? []].flat().includes(name)));
  if (takes) throw missingValue(name);
}

/**
 * Whether the boolean flag `name` was given. For "no-…" flags citty reads
 * --no-pivot as pivot=false, so those are looked up in the raw arguments.
 */
export function boolFlag(rawArgs: readonly string[], name: string): boolean {
  for (const arg of rawArgs) {
    if (arg === "--") break;
    const [flag, value] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    if (arg.startsWith("-") && flag === name) return value === undefined || value === "true";
  }
  return false;
}

/** A non-negative integer flag value. */
export function nonNegative(value: unknown, flag: string): number {
  const n = Number(value ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new BuncError(`invalid value for --${flag}: ${String(value)}`, { code: "EINVAL" });
  return n;
}

/** Refuse a flag that a later version delivers, naming it, rather than ignoring it. */
export function refuseFlag(value: unknown, flag: string): void {
  if (value !== undefined && value !== false && value !== "")
    throw new BuncError(`--${flag} is not supported by this build of bunc yet`, { code: "ENOTSUP" });
}

export const createArgs = {
  id: { type: "positional", description: "container id", required: true },
  bundle: { type: "string", alias: "b", description: "path to the root of the bundle directory, defaults to the current directory", default: "." },
  "console-socket": { type: "string", description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  "pid-file": { type: "string", description: "specify the file to write the process id to" },
  "no-pivot": { type: "boolean", description: "do not use pivot root to jail process inside rootfs" },
  "no-new-keyring": { type: "boolean", description: "do not create a new session keyring for the container" },
  "preserve-fds": { type: "string", description: "pass N additional file descriptors to the container (stdio + N in total)", default: "0" },
  "pidfd-socket": { type: "string", description: "path to an AF_UNIX socket which will receive a pidfd of the container's process" },
} as const satisfies ArgsDef;

/** The options create and run share, from their parsed flags. */
export function createOptions(args: Record<string, unknown>, rawArgs: readonly string[]): CreateOptions {
  const str = (name: string) => (args[name] === undefined ? undefined : String(args[name]));
  return {
    id: String(args.id),
    bundle: str("bundle") ?? ".",
    pidFile: str("pid-file"),
    consoleSocket: str("console-socket"),
    pidfdSocket: str("pidfd-socket"),
    noPivot: boolFlag(rawArgs, "no-pivot"),
    noNewKeyring: boolFlag(rawArgs, "no-new-keyring"),
    systemdCgroup: globals.systemdCgroup,
    rootless: rootlessCgroups(globals.rootless),
    preserveFds: nonNegative(args["preserve-fds"], "preserve-fds"),
  };
}

/** Every value of a repeatable string flag (runc's StringSlice: --empty-ns a --empty-ns b). */
export function allValues(rawArgs: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    const [flag, value] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    if (!arg.startsWith("-") || flag !== name) continue;
    if (value !== undefined) out.push(value);
    else if (i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
  }
  return out;
}

/** The flags checkpoint and restore share, with runc's descriptions. */
export const criuArgs = {
  id: { type: "positional", description: "container id", required: true },
  "image-path": { type: "string", description: "path for criu image files (default: ./checkpoint)" },
  "work-path": { type: "string", description: "path for saving work files and logs" },
  "tcp-established": { type: "boolean", description: "allow open tcp connections" },
  "ext-unix-sk": { type: "boolean", description: "allow external unix sockets" },
  "shell-job": { type: "boolean", description: "allow shell jobs" },
  "file-locks": { type: "boolean", description: "handle file locks, for safety" },
  "lazy-pages": { type: "boolean", description: "use userfaultfd to lazily restore memory pages" },
  "manage-cgroups-mode": { type: "string", description: "cgroups mode: 'soft' (default), 'full', 'strict' or 'ignore'" },
  "empty-ns": { type: "string", description: "create a namespace, but don't restore its properties (network; may be repeated)" },
  "auto-dedup": { type: "boolean", description: "enable auto deduplication of memory images" },
} as const satisfies ArgsDef;

/** What parseLeadingFlags found: the flags, the first positional, and everything after it. */
export interface LeadingFlags {
  positional: string;
  rest: string[];
  values: Record<string, string>;
  lists: Record<string, string[]>;
  bools: Record<string, boolean>;
}

/**
 * Flags up to the first positional, the rest verbatim (flags included), as runc
 * parses the verbs whose command follows a positional: `exec ID CMD…`, and
 * `image run IMAGE CMD…`. A "--" ends the flags; names in repeated collect
 * every value.
 */
export function parseLeadingFlags(argv: readonly string[], def: ArgsDef, aliases: Record<string, string>, repeated: ReadonlySet<string>): LeadingFlags {
  const out: LeadingFlags = { positional: "", rest: [], values: {}, lists: {}, bools: {} };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") { i++; break; }
    if (!a.startsWith("-") || a === "-") break;
    const [rawName, inline] = a.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const name = aliases[rawName] ?? rawName;
    const type = (def as Record<string, { type: string }>)[name]?.type;
    if (!type || type === "positional") throw new BuncError(`flag provided but not defined: -${rawName}`, { code: "EINVAL" });
    if (type === "boolean") {
      out.bools[name] = inline === undefined ? true : inline === "true";
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new BuncError(`flag needs an argument: -${rawName}`, { code: "EINVAL" });
    if (repeated.has(name)) (out.lists[name] ??= []).push(value);
    else out.values[name] = value;
  }
  out.positional = argv[i] ?? "";
  out.rest = argv.slice(i + 1);
  return out;
}
