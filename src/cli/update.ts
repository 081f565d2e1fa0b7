import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { withLock } from "../container/lock";
import { parseResources, resourcesFromFlags, updateContainer, type UpdateFlags } from "../container/update";
import { BuncError } from "../errors";
import { checkFlags, refuseFlag, store } from "./args";
import { reportWarning } from "./report";

const args = {
  id: { type: "positional", description: "container id", required: true },
  resources: { type: "string", alias: "r", description: "path to the file containing the resources to update or '-' to read from the standard input" },
  "blkio-weight": { type: "string", description: "Specifies per cgroup weight, range is from 10 to 1000" },
  "cpu-period": { type: "string", description: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default" },
  "cpu-quota": { type: "string", description: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period" },
  "cpu-share": { type: "string", description: "CPU shares (relative weight vs. other containers)" },
  "cpu-rt-period": { type: "string", description: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default" },
  "cpu-rt-runtime": { type: "string", description: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period" },
  "cpuset-cpus": { type: "string", description: "CPU(s) to use" },
  "cpuset-mems": { type: "string", description: "Memory node(s) to use" },
  "kernel-memory": { type: "string", description: "(obsoleted; do not use)" },
  "kernel-memory-tcp": { type: "string", description: "(obsoleted; do not use)" },
  memory: { type: "string", description: "Memory limit (in bytes)" },
  "memory-reservation": { type: "string", description: "Memory reservation or soft_limit (in bytes)" },
  "memory-swap": { type: "string", description: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
  "pids-limit": { type: "string", description: "Maximum number of pids allowed in the container" },
  "l3-cache-schema": { type: "string", description: "The string of Intel RDT/CAT L3 cache schema (not supported)" },
  "mem-bw-schema": { type: "string", description: "The string of Intel RDT/MBA memory bandwidth schema (not supported)" },
} as const;

export default defineCommand({
  meta: { name: "update", description: "update container resource constraints" },
  args,
  run({ args: a, rawArgs }) {
    checkFlags(rawArgs, args);
    let resources;
    if (a.resources !== undefined) {
      // As runc: with -r every other flag is ignored.
      const source = a.resources === "-" ? "standard input" : a.resources;
      let text: string;
      try {
        text = readFileSync(a.resources === "-" ? 0 : a.resources, "utf8");
      } catch (e) {
        throw new BuncError(`read ${source}: ${(e as Error).message}`, { code: "ENOENT", cause: e });
      }
      resources = parseResources(text, source);
    } else {
      refuseFlag(a["l3-cache-schema"], "l3-cache-schema");
      refuseFlag(a["mem-bw-schema"], "mem-bw-schema");
      resources = resourcesFromFlags(a as UpdateFlags);
    }
    const s = store();
    for (const w of withLock(s, a.id, () => updateContainer(s, a.id, resources))) reportWarning(w);
  },
});
