/** `bunc image`: run and unpack OCI images (archives, layout directories, docker archives) without a daemon. */
import { defineCommand, type CommandDef } from "citty";

/** The image subcommands, each imported only when it runs (help and the docs load them all). */
export const imageCommands: Record<string, () => Promise<CommandDef<any>>> = {
  run: () => import("./image-run").then((m) => m.default),
  unpack: () => import("./image-unpack").then((m) => m.default),
  ls: () => import("./image-ls").then((m) => m.default),
  prune: () => import("./image-prune").then((m) => m.default),
};

export default defineCommand({
  meta: { name: "image", description: "run or unpack an OCI image: oci-archive:PATH[:TAG], oci:DIR[:TAG], docker-archive:PATH[:REF]" },
  args: {},
  subCommands: imageCommands,
});
