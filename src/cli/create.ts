import { defineCommand } from "citty";
import { createContainer } from "../container/create";
import { closeSync } from "node:fs";
import { checkFlags, createArgs, createOptions, store } from "./args";
import { reportWarning } from "./report";

export default defineCommand({
  meta: { name: "create", description: "create a container" },
  args: createArgs,
  run({ args, rawArgs }) {
    checkFlags(rawArgs, createArgs);
    const { pidfd, warnings } = createContainer(store(), createOptions(args, rawArgs));
    closeSync(pidfd);
    for (const w of warnings) reportWarning(w);
  },
});
