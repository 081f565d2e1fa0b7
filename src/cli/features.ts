import { defineCommand } from "citty";
import { features } from "../spec/features";
import { checkFlags } from "./args";

export default defineCommand({
  meta: { name: "features", description: "show the enabled features" },
  args: {},
  run({ rawArgs }) {
    checkFlags(rawArgs, {});
    process.stdout.write(JSON.stringify(features(), null, "    ") + "\n");
  },
});
