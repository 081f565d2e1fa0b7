import { defineCommand } from "citty";
import { withLock } from "../container/lock";
import { startContainer } from "../container/start";
import { checkFlags, store } from "./args";
import { reportWarning } from "./report";

const args = { id: { type: "positional", description: "container id", required: true } } as const;

export default defineCommand({
  meta: { name: "start", description: "executes the user defined process in a created container" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const s = store();
    for (const w of withLock(s, a.id, () => startContainer(s, a.id))) reportWarning(w);
  },
});
