import { defineCommand } from "citty";
import { containerState } from "../container/state";
import { checkFlags, store } from "./args";

const args = { id: { type: "positional", description: "container id", required: true } } as const;

export default defineCommand({
  meta: { name: "state", description: "output the state of a container" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    process.stdout.write(JSON.stringify(containerState(store(), a.id), null, 2));
  },
});
