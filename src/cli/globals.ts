/** runc's global flags, parsed before the command (`bunc --root /x --log-format json state id`). */
import { BuncError } from "../errors";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
  criu: string;
}

/** Argument definitions of the global flags, for citty. */
export const globalArgs = {
  root: { type: "string", description: "root directory for storage of container state (this should be located in tmpfs)", default: "/run/bunc" },
  log: { type: "string", description: "set the log file to write bunc logs to (default is '/dev/stderr')" },
  "log-format": { type: "string", description: "set the log format ('text' (default), or 'json')", default: "text" },
  debug: { type: "boolean", description: "enable debug logging" },
  "systemd-cgroup": { type: "boolean", description: "enable systemd cgroup support (not supported yet)" },
  rootless: { type: "string", description: "ignore cgroup permission errors ('true', 'false', or 'auto')", default: "auto" },
  criu: { type: "string", description: "path to the criu binary used for checkpoint and restore", default: "criu" },
  version: { type: "boolean", alias: "v", description: "print the version" },
  help: { type: "boolean", alias: "h", description: "show help" },
} as const;

/** The values in force for this invocation; set once by main before the command runs. */
export const globals: Globals = { root: "/run/bunc", logFormat: "text", debug: false, systemdCgroup: false, rootless: "auto", criu: "criu" };

/** Fill `globals` from citty's parse of the main command's flags. */
export function setGlobals(args: Record<string, unknown>): void {
  globals.root = String(args.root ?? "/run/bunc");
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
