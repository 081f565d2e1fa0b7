/** The state of a container as runtime-spec runtime.md "State" and runc's `state` show it. */
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
  owner: string;
  annotations?: Record<string, string>;
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
    owner: record?.owner ?? "",
  };
  if (record?.annotations && Object.keys(record.annotations).length > 0) state.annotations = record.annotations;
  return state;
}

/** The state of every container under the store's root. */
export function listStates(store: Store): ContainerState[] {
  const out: ContainerState[] = [];
  for (const id of store.ids()) {
    try {
      out.push(containerState(store, id));
    } catch {
      // Removed meanwhile: not listed.
    }
  }
  return out;
}
