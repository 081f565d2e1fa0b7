import { defineCommand } from "citty";
import { features } from "../spec/features";
import { checkFlags } from "./args";
import { out } from "./output";

export default defineCommand({
  meta: { name: "features", description: "show the enabled features" },
  args: {},
  run({ rawArgs }) {
    checkFlags(rawArgs, {});
    out(JSON.stringify(features(), null, "    ") + "\n");
  },
});
