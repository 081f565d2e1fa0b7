import { defineCommand } from "citty";
import { createContainer } from "../container/create";
import { closeSync } from "node:fs";
import { checkFlags, createArgs, nonNegative, refuseFlag, store } from "./args";
import { reportWarning } from "./report";

export default defineCommand({
  meta: { name: "create", description: "create a container" },
  args: createArgs,
  run({ args, rawArgs }) {
    checkFlags(rawArgs, createArgs);
    refuseFlag(args["pidfd-socket"], "pidfd-socket");
    const { pidfd, warnings } = createContainer(store(), {
      id: args.id,
      bundle: args.bundle,
      pidFile: args["pid-file"],
      consoleSocket: args["console-socket"],
      noPivot: args["no-pivot"],
      noNewKeyring: args["no-new-keyring"],
      preserveFds: nonNegative(args["preserve-fds"], "preserve-fds"),
    });
    closeSync(pidfd);
    for (const w of warnings) reportWarning(w);
  },
});
