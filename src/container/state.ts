/** The state of a container as runtime-spec runtime.md "State" and runc's `state` show it. */
import { readFileSync, statSync } from "node:fs";
import { deriveStatus, type Status } from "./status";
import type { Store } from "./store";

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner?: string;
}

/** The state of container id (an unknown id is an error). */
export function containerState(store: Store, id: string): ContainerState {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  const state: ContainerState = {
    ociVersion: record?.ociVersion ?? "",
    id,
    pid: status === "stopped" || !record ? 0 : record.pid,
    status,
    bundle: record?.bundle ?? "",
    rootfs: record?.rootfs ?? "",
    created: record?.created ?? "",
  };
  // runc's field order: annotations (only when there are some), then owner.
  // Sorted by key, as runc prints a Go map.
  if (record?.annotations && Object.keys(record.annotations).length > 0)
    state.annotations = Object.fromEntries(Object.entries(record.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  state.owner = record?.owner ?? "";
  return state;
}

/** The state of every container under the store's root; owner is the user owning its state dir, as runc's list. */
export function listStates(store: Store): ContainerState[] {
  const out: ContainerState[] = [];
  for (const id of store.ids()) {
    try {
      out.push({ ...containerState(store, id), owner: userName(statSync(store.dir(id)).uid) });
    } catch {
      // Removed meanwhile: not listed.
    }
  }
  return out;
}

/** The host's name for uid (/etc/passwd), or "#uid" as runc prints an unknown one. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[2] === String(uid)) return f[0]!;
    }
  } catch {
    // No passwd: the number.
  }
  return `#${uid}`;
}
