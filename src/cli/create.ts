import { defineCommand } from "citty";
import { createContainer } from "../container/create";
import { closeSync } from "node:fs";
import { boolFlag, checkFlags, createArgs, nonNegative, store } from "./args";
import { globals } from "./globals";
import { reportWarning } from "./report";

export default defineCommand({
  meta: { name: "create", description: "create a container" },
  args: createArgs,
  run({ args, rawArgs }) {
    checkFlags(rawArgs, createArgs);
    const { pidfd, warnings } = createContainer(store(), {
      id: args.id,
      bundle: args.bundle,
      pidFile: args["pid-file"],
      consoleSocket: args["console-socket"],
      pidfdSocket: args["pidfd-socket"],
      noPivot: boolFlag(rawArgs, "no-pivot"),
      noNewKeyring: boolFlag(rawArgs, "no-new-keyring"),
      systemdCgroup: globals.systemdCgroup,
      preserveFds: nonNegative(args["preserve-fds"], "preserve-fds"),
    });
    closeSync(pidfd);
    for (const w of warnings) reportWarning(w);
  },
});
