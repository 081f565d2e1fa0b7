/** Shared pieces of the verb definitions: the state store, strict flag checking, common flags. */
import type { ArgsDef } from "citty";
import { Store } from "../container/store";
import { BuncError } from "../errors";
import { globals } from "./globals";

/** The state store under --root. */
export function store(): Store {
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
  for (const arg of rawArgs) {
    if (arg === "--") return;
    if (!arg.startsWith("-") || arg === "-") continue;
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    if (!known.has(name)) throw new BuncError(`flag provided but not defined: -${name}`, { code: "EINVAL" });
  }
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
