import { defineCommand } from "citty";
import { killContainer } from "../container/kill";
import { parseSignal } from "../linux/signals";
import { checkFlags, store } from "./args";

const args = {
  id: { type: "positional", description: "container id", required: true },
  signal: { type: "positional", description: "signal name (with or without SIG) or number", default: "SIGTERM" },
  all: { type: "boolean", alias: "a", description: "send the specified signal to all processes inside the container" },
} as const;

export default defineCommand({
  meta: { name: "kill", description: "kill sends the specified signal (default: SIGTERM) to the container's init process" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    killContainer(store(), a.id, parseSignal(a.signal), a.all);
  },
});
