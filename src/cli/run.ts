import { defineCommand } from "citty";
import { runContainer } from "../container/run";
import { boolFlag, checkFlags, createArgs, nonNegative, store } from "./args";
import { globals } from "./globals";
import { reportWarning } from "./report";

const runArgs = {
  ...createArgs,
  detach: { type: "boolean", alias: "d", description: "detach from the container's process" },
  keep: { type: "boolean", description: "do not delete the container after it exits" },
  "no-subreaper": { type: "boolean", description: "disable the use of the subreaper used to reap reparented processes" },
} as const;

export default defineCommand({
  meta: { name: "run", description: "create and run a container" },
  args: runArgs,
  async run({ args, rawArgs }) {
    checkFlags(rawArgs, runArgs);
    process.exitCode = await runContainer(store(), {
      id: args.id,
      bundle: args.bundle,
      pidFile: args["pid-file"],
      consoleSocket: args["console-socket"],
      pidfdSocket: args["pidfd-socket"],
      noPivot: boolFlag(rawArgs, "no-pivot"),
      noNewKeyring: boolFlag(rawArgs, "no-new-keyring"),
      systemdCgroup: globals.systemdCgroup,
      preserveFds: nonNegative(args["preserve-fds"], "preserve-fds"),
      detach: args.detach,
      keep: args.keep,
      noSubreaper: boolFlag(rawArgs, "no-subreaper"),
      onWarning: reportWarning,
    });
  },
});
