import { defineCommand } from "citty";
import { listStates, type ContainerState } from "../container/state";
import { BuncError } from "../errors";
import { checkFlags, store } from "./args";
import { out } from "./output";

const args = {
  format: { type: "string", alias: "f", description: "select one of: table or json", default: "table" },
  quiet: { type: "boolean", alias: "q", description: "display only container IDs" },
} as const;

export default defineCommand({
  meta: { name: "list", description: "lists containers started by bunc with the given root" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const states = listStates(store());
    if (a.quiet) {
      out(states.map((s) => s.id + "\n").join(""));
    } else if (a.format === "json") {
      // runc encodes a Go nil slice: "null" when there are no containers.
      out(JSON.stringify(states.length ? states : null) + "\n");
    } else if (a.format === "table") {
      out(table(states));
    } else {
      throw new BuncError(`invalid format option: ${a.format}`, { code: "EINVAL" });
    }
  },
});

/** runc's table: Go text/tabwriter with minwidth 12, padding 3, the last column unpadded. */
function table(states: ContainerState[]): string {
  const rows: string[][] = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner ?? ""])];
  const widths = rows[0]!.map((_, col) => Math.max(12, ...rows.map((r) => r[col]!.length + 3)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join("") + "\n").join("");
}
