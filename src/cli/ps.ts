import { defineCommand } from "citty";
import { containerPids, psTable } from "../container/ps";
import { BuncError } from "../errors";
import { store } from "./args";
import { out } from "./output";

/** ps's flags (for --help; parsing is below: everything after the id goes to ps, as runc). */
const args = {
  id: { type: "positional", description: "container id", required: true },
  format: { type: "string", alias: "f", description: "select one of: table or json", default: "table" },
} as const;

/** [-f|--format F] ID [ps options…] */
export function parsePsArgs(argv: readonly string[]): { id: string; format: string; psArgs: string[] } {
  let format = "table";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return { id: argv[i + 1] ?? "", format, psArgs: argv.slice(i + 2) };
    if (!a.startsWith("-")) return { id: a, format, psArgs: argv.slice(i + 1) };
    const [name, inline] = a.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    if (name !== "f" && name !== "format") throw new BuncError(`flag provided but not defined: -${name}`, { code: "EINVAL" });
    const value = inline ?? argv[++i];
    if (value === undefined) throw new BuncError(`flag needs an argument: -${name}`, { code: "EINVAL" });
    format = value;
  }
  throw new BuncError('"ps" requires a minimum of 1 argument', { code: "EINVAL" });
}

export default defineCommand({
  meta: { name: "ps", description: "ps displays the processes running inside a container" },
  args,
  run({ rawArgs }) {
    const { id, format, psArgs } = parsePsArgs(rawArgs);
    if (format !== "table" && format !== "json") throw new BuncError(`invalid format option: ${format}`, { code: "EINVAL" });
    const pids = containerPids(store(), id);
    if (format === "json") {
      if (psArgs.length) throw new BuncError("ps options cannot be used with --format json", { code: "EINVAL" });
      // Go encodes an empty (nil) slice as null.
      out(JSON.stringify(pids.length ? pids : null) + "\n");
      return;
    }
    out(psTable(pids, psArgs));
  },
});
