import { defineCommand } from "citty";
import { deleteContainer } from "../container/delete";
import { withLock } from "../container/lock";
import { checkFlags, store } from "./args";
import { reportWarning } from "./report";

const args = {
  id: { type: "positional", description: "container id", required: true },
  force: { type: "boolean", alias: "f", description: "forcibly deletes the container if it is still running (uses SIGKILL)" },
} as const;

export default defineCommand({
  meta: { name: "delete", description: "delete any resources held by the container" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const s = store();
    for (const w of withLock(s, a.id, () => deleteContainer(s, a.id, a.force))) reportWarning(w);
  },
});
