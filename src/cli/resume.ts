import { defineCommand } from "citty";
import { withLock } from "../container/lock";
import { resumeContainer } from "../container/pause";
import { checkFlags, store } from "./args";

const args = { id: { type: "positional", description: "container id", required: true } } as const;

export default defineCommand({
  meta: { name: "resume", description: "resumes all processes that have been previously paused" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const s = store();
    withLock(s, a.id, () => resumeContainer(s, a.id));
  },
});
