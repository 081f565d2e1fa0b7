import { defineCommand } from "citty";
import { containerState } from "../container/state";
import { checkFlags, store } from "./args";
import { out } from "./output";

const args = { id: { type: "positional", description: "container id", required: true } } as const;

export default defineCommand({
  meta: { name: "state", description: "output the state of a container" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    out(JSON.stringify(containerState(store(), a.id), null, 2));
  },
});
