import { defineCommand } from "citty";
import { runContainer } from "../container/run";
import { checkFlags, createArgs, nonNegative, refuseFlag, store } from "./args";
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
    refuseFlag(args["pidfd-socket"], "pidfd-socket");
    process.exitCode = await runContainer(store(), {
      id: args.id,
      bundle: args.bundle,
      pidFile: args["pid-file"],
      consoleSocket: args["console-socket"],
      noPivot: args["no-pivot"],
      noNewKeyring: args["no-new-keyring"],
      preserveFds: nonNegative(args["preserve-fds"], "preserve-fds"),
      detach: args.detach,
      keep: args.keep,
      noSubreaper: args["no-subreaper"],
      onWarning: reportWarning,
    });
  },
});
