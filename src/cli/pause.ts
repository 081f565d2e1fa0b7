import { defineCommand } from "citty";
import { withLock } from "../container/lock";
import { pauseContainer } from "../container/pause";
import { checkFlags, store } from "./args";

const args = { id: { type: "positional", description: "container id", required: true } } as const;

export default defineCommand({
  meta: { name: "pause", description: "pause suspends all processes inside the container" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const s = store();
    withLock(s, a.id, () => pauseContainer(s, a.id));
  },
});
