import { defineCommand } from "citty";
import { runContainer } from "../container/run";
import { boolFlag, checkFlags, createArgs, createOptions, store } from "./args";
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
      ...createOptions(args, rawArgs),
      detach: args.detach,
      keep: args.keep,
      noSubreaper: boolFlag(rawArgs, "no-subreaper"),
      onWarning: reportWarning,
    });
  },
});
