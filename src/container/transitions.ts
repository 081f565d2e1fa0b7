/**
 * The lifecycle state machine: which verb may act on a container in which
 * status (runtime-spec runtime.md "Lifecycle"; runc's state_linux.go).
 * Every verb checks here first, and a refusal names the verb and the status.
 */
import { BuncError } from "../errors";
import type { Status } from "./status";

export type Verb = "start" | "kill" | "delete" | "forceDelete" | "pause" | "resume" | "exec" | "update" | "checkpoint";

export const STATUSES: readonly Status[] = ["creating", "created", "running", "stopped", "paused"];

const ALLOWED: Record<Verb, readonly Status[]> = {
  start: ["created"],
  kill: ["created", "running", "paused"],
  // runc deletes a created container without -f: it was never started.
  delete: ["created", "stopped", "creating"],
  forceDelete: ["creating", "created", "running", "stopped", "paused"],
  // runc pauses a created container too (its Pause() accepts Running and Created).
  pause: ["created", "running"],
  resume: ["paused"],
  exec: ["created", "running"],
  update: ["created", "running", "paused"],
  // criu dumps a live tree; a paused one is frozen already (runc checkpoints both).
  checkpoint: ["running", "paused"],
};

/** Whether verb may act on a container in status. */
export function canDo(verb: Verb, status: Status): boolean {
  return ALLOWED[verb].includes(status);
}

const VERB_TEXT: Record<Verb, string> = {
  start: "start",
  kill: "kill",
  delete: "delete",
  forceDelete: "delete",
  pause: "pause",
  resume: "resume",
  exec: "exec in",
  update: "update",
  checkpoint: "checkpoint",
};

/** Throw unless verb may act on container id in status: "cannot start container x: it is running". */
export function guard(verb: Verb, id: string, status: Status): void {
  if (canDo(verb, status)) return;
  const hint = verb === "delete" && (status === "running" || status === "paused") ? " (use delete -f)" : "";
  // runc's words for exec, which callers match ("cannot exec in a stopped container").
  if (verb === "exec") throw new BuncError(`cannot exec in a ${status} container ${id}`, { code: "STATE" });
  throw new BuncError(`cannot ${VERB_TEXT[verb]} container ${id}: it is ${status}${hint}`, { code: "STATE" });
}
