import { defineCommand } from "citty";
import { statsJSON } from "../cgroups/stats";
import { parseDuration, statsEvent, watchEvents } from "../container/events";
import { checkFlags, store } from "./args";
import { out } from "./output";
import { reportWarning } from "./report";

const args = {
  id: { type: "positional", description: "container id", required: true },
  interval: { type: "string", description: "set the stats collection interval", default: "5s" },
  stats: { type: "boolean", description: "display the container's stats then exit" },
} as const;

export default defineCommand({
  meta: { name: "events", description: "display container events such as OOM notifications, cpu, memory, and IO usage statistics" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const interval = parseDuration(a.interval);
    if (a.stats) {
      out(statsJSON(statsEvent(store(), a.id)) + "\n");
      return;
    }
    watchEvents(store(), a.id, interval, (e) => out(statsJSON(e) + "\n"), reportWarning);
  },
});
