/** runc's global flags, parsed before the command (`bunc --root /x --log-format json state id`). */
import { defaultRoot } from "../container/rootless";
import { BuncError } from "../errors";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
  /** --root not given and $XDG_RUNTIME_DIR/bunc chosen: made 0700 and sticky before use. */
  xdgRoot: boolean;
  criu: string;
}

/** Argument definitions of the global flags, for citty. */
export const globalArgs = {
  root: { type: "string", description: "root directory for storage of container state (this should be located in tmpfs)", default: "/run/bunc" },
  log: { type: "string", description: "set the log file to write bunc logs to (default is '/dev/stderr')" },
  "log-format": { type: "string", description: "set the log format ('text' (default), or 'json')", default: "text" },
  debug: { type: "boolean", description: "enable debug logging" },
  "systemd-cgroup": { type: "boolean", description: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:runc:434234\"" },
  rootless: { type: "string", description: "ignore cgroup permission errors ('true', 'false', or 'auto')", default: "auto" },
  criu: { type: "string", description: "path to the criu binary used for checkpoint and restore", default: "criu" },
  version: { type: "boolean", alias: "v", description: "print the version" },
  help: { type: "boolean", alias: "h", description: "show help" },
} as const;

/** The values in force for this invocation; set once by main before the command runs. */
export const globals: Globals = { root: "/run/bunc", logFormat: "text", debug: false, systemdCgroup: false, rootless: "auto", xdgRoot: false, criu: "criu" };

/**
 * The global flags as name → value, from what stands before the command
 * (checkFlags has refused unknown flags and a missing value already). Not
 * citty's parseArgs: its first call costs ~0.45 ms of every command in the
 * compiled executable (interpreted case conversions of every flag name), and
 * these flags are few and plain: `--name value`, `--name=value`, `-name`,
 * and `--bool=false` with Go's boolean spellings (runc's flag package).
 */
export function parseGlobals(before: readonly string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]!;
    const eq = arg.indexOf("=");
    const flag = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--?/, "");
    const name = Object.entries(globalArgs).find(([n, a]) => n === flag || ("alias" in a && a.alias === flag))?.[0];
    if (!name) continue;
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (globalArgs[name as keyof typeof globalArgs].type === "boolean") out[name] = value === undefined ? true : parseBool(value, flag);
    else out[name] = value ?? before[++i] ?? "";
  }
  return out;
}

/** Go's strconv.ParseBool, as runc reads `--debug=…`. */
function parseBool(value: string, flag: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new BuncError(`invalid boolean value ${JSON.stringify(value)} for -${flag}: parse error`, { code: "EINVAL" });
}

/** Fill `globals` from the parsed global flags. */
export function setGlobals(args: Record<string, unknown>): void {
  const byDefault = args.root === undefined ? defaultRoot() : undefined;
  globals.root = byDefault?.root ?? String(args.root);
  globals.xdgRoot = byDefault?.xdg ?? false;
  globals.log = args.log === undefined ? undefined : String(args.log);
  const format = String(args["log-format"] ?? args.logFormat ?? "text");
  if (format !== "text" && format !== "json") throw new BuncError(`invalid log-format: ${format}`, { code: "EINVAL" });
  globals.logFormat = format;
  globals.debug = Boolean(args.debug);
  globals.systemdCgroup = Boolean(args["systemd-cgroup"] ?? args.systemdCgroup);
  globals.rootless = String(args.rootless ?? "auto");
  if (!["true", "false", "auto"].includes(globals.rootless)) throw new BuncError(`invalid --rootless value: ${globals.rootless}`, { code: "EINVAL" });
  globals.criu = String(args.criu ?? "criu");
}
