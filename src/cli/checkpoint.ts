import { defineCommand } from "citty";
import { checkpointContainer } from "../container/checkpoint";
import type { CheckpointOptions } from "../container/criu";
import { withLock } from "../container/lock";
import { BuncError } from "../errors";
import { checkFlags, criuArgs, store } from "./args";
import { criuOptions } from "./criu-options";
import { globals } from "./globals";

const args = {
  ...criuArgs,
  "parent-path": { type: "string", description: "path for previous criu image files in pre-dump" },
  "leave-running": { type: "boolean", description: "leave the process running after checkpointing" },
  "status-fd": { type: "string", description: "criu writes \\0 to this FD once lazy-pages is ready", default: "-1" },
  "page-server": { type: "string", description: "ADDRESS:PORT of the page server" },
  "pre-dump": { type: "boolean", description: "dump container's memory information only, leave the container running after this" },
} as const;

/** runc checkpoint's flags → the options of checkpointContainer. */
export function checkpointOptions(a: Record<string, unknown>, rawArgs: readonly string[], cwd = process.cwd()): CheckpointOptions {
  const statusFd = Number(a["status-fd"] ?? -1);
  if (!Number.isInteger(statusFd)) throw new BuncError(`invalid value for --status-fd: ${String(a["status-fd"])}`, { code: "EINVAL" });
  return {
    ...criuOptions(a, rawArgs, cwd),
    parentPath: (a["parent-path"] as string | undefined) || undefined,
    leaveRunning: Boolean(a["leave-running"]),
    preDump: Boolean(a["pre-dump"]),
    statusFd: statusFd >= 0 ? statusFd : undefined,
    pageServer: (a["page-server"] as string | undefined) || undefined,
  };
}

export default defineCommand({
  meta: { name: "checkpoint", description: "checkpoint a running container (with criu)" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const opts = checkpointOptions(a, rawArgs);
    const s = store();
    withLock(s, a.id, () => checkpointContainer(s, a.id, opts, globals.criu));
  },
});
