/**
 * bunc's verbs, each imported only when it runs (so `state` never loads the C
 * executor and `--version` loads nothing). main dispatches through this table;
 * the build reads it to write the man pages and completions.
 */
import type { CommandDef } from "citty";

export const verbs: Record<string, () => Promise<CommandDef<any>>> = {
  checkpoint: () => import("./checkpoint").then((m) => m.default),
  create: () => import("./create").then((m) => m.default),
  delete: () => import("./delete").then((m) => m.default),
  events: () => import("./events").then((m) => m.default),
  exec: () => import("./exec").then((m) => m.default),
  features: () => import("./features").then((m) => m.default),
  image: () => import("./image").then((m) => m.default),
  kill: () => import("./kill").then((m) => m.default),
  list: () => import("./list").then((m) => m.default),
  pause: () => import("./pause").then((m) => m.default),
  ps: () => import("./ps").then((m) => m.default),
  restore: () => import("./restore").then((m) => m.default),
  resume: () => import("./resume").then((m) => m.default),
  run: () => import("./run").then((m) => m.default),
  spec: () => import("./spec").then((m) => m.default),
  start: () => import("./start").then((m) => m.default),
  state: () => import("./state").then((m) => m.default),
  update: () => import("./update").then((m) => m.default),
};

/** The top-level command's text: name, description, global flags. */
export const BUNC_DESCRIPTION = "an OCI container runtime, a drop-in replacement for runc";
