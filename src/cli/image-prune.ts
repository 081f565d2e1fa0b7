import { defineCommand } from "citty";
import { ImageCache } from "../image/cache";
import { pruneRuns } from "../image/runs";
import { checkFlags, store } from "./args";
import { globals } from "./globals";
import { out } from "./output";

export default defineCommand({
  meta: { name: "prune", description: "remove cached layers no running container uses, and the directories of finished runs" },
  args: {},
  run({ rawArgs }) {
    checkFlags(rawArgs, {});
    const runs = pruneRuns(store());
    const layers = new ImageCache(globals.root).prune();
    out([...runs.map((r) => `run ${r}`), ...layers.map((l) => `layer ${l}`)].map((x) => `removed ${x}\n`).join(""));
  },
});
