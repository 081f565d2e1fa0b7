import { defineCommand } from "citty";
import { ImageCache } from "../image/cache";
import { checkFlags } from "./args";
import { globals } from "./globals";
import { out } from "./output";

const args = {
  quiet: { type: "boolean", alias: "q", description: "display only image ids" },
} as const;

export default defineCommand({
  meta: { name: "ls", description: "list the images whose layers are in bunc's cache" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    const cache = new ImageCache(globals.root);
    const images = cache.images();
    if (a.quiet) return out(images.map((i) => i.id + "\n").join(""));
    const rows = [["ID", "LAYERS", "SIZE", "LAST USED", "REFERENCE"]];
    for (const i of images) {
      const mb = (cache.size(i.layers.map((l) => cache.layerDir(l))) / 1e6).toFixed(1);
      rows.push([i.id.replace(/^sha256:/, "").slice(0, 12), String(i.layers.length), `${mb}MB`, i.lastUsed, i.reference]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    out(rows.map((r) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]!))).join("   ")).join("\n") + "\n");
  },
});
