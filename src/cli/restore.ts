import { defineCommand } from "citty";
import { reportWarning } from "./report";
import { restoreContainer, type RestoreContainerOptions } from "../container/restore";
import { boolFlag, checkFlags, criuArgs, store } from "./args";
import { criuOptions } from "./criu-options";
import { globals } from "./globals";

const args = {
  ...criuArgs,
  "console-socket": { type: "string", description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  bundle: { type: "string", alias: "b", description: "path to the root of the bundle directory", default: "." },
  detach: { type: "boolean", alias: "d", description: "detach from the container's process" },
  "pid-file": { type: "string", description: "specify the file to write the process id to" },
  "no-subreaper": { type: "boolean", description: "disable the use of the subreaper used to reap reparented processes" },
  "no-pivot": { type: "boolean", description: "do not use pivot root to jail process inside rootfs (criu restores the mount namespace itself)" },
  "lsm-profile": { type: "string", description: "Specify an LSM profile to be used during restore in the form of TYPE:NAME." },
  "lsm-mount-context": { type: "string", description: "Specify an LSM mount context to be used during restore." },
} as const;

/** runc restore's flags → the options of restoreContainer. */
export function restoreOptions(a: Record<string, unknown>, rawArgs: readonly string[], cwd = process.cwd()): RestoreContainerOptions {
  return {
    ...criuOptions(a, rawArgs, cwd),
    id: String(a.id),
    bundle: String(a.bundle ?? "."),
    lsmProfile: (a["lsm-profile"] as string | undefined) || undefined,
    lsmMountContext: (a["lsm-mount-context"] as string | undefined) || undefined,
    pidFile: (a["pid-file"] as string | undefined) || undefined,
    consoleSocket: (a["console-socket"] as string | undefined) || undefined,
    detach: Boolean(a.detach),
    noSubreaper: boolFlag(rawArgs, "no-subreaper"),
    systemdCgroup: globals.systemdCgroup,
  };
}

export default defineCommand({
  meta: { name: "restore", description: "restore a container from a previous checkpoint (with criu)" },
  args,
  async run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    process.exitCode = await restoreContainer(store(), { ...restoreOptions(a, rawArgs), onWarning: reportWarning }, globals.criu);
  },
});
