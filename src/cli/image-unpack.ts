import { defineCommand } from "citty";
import { unpackImage } from "../image/unpack";
import { checkFlags } from "./args";

const args = {
  reference: { type: "positional", required: true, valueHint: "<IMAGE>", description: "oci-archive:PATH[:TAG], oci:DIR[:TAG] or docker-archive:PATH[:REF]" },
  bundle: { type: "positional", required: true, valueHint: "<BUNDLE>", description: "the bundle directory to make (rootfs/ and config.json)" },
} as const;

export default defineCommand({
  meta: { name: "unpack", description: "unpack an image into a runc bundle (rootfs and config.json), as umoci unpack" },
  args,
  async run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    await unpackImage(String(a.reference), String(a.bundle));
  },
});
