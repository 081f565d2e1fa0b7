/** Namespace types of config.json, their clone(2) flags, and /proc/PID/ns names. */
export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

export const NAMESPACE_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** The file under /proc/PID/ns/ for each type. */
export const NAMESPACE_FILE: Record<NamespaceType, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/**
 * The order in which namespaces are joined by path: user first (it owns the
 * others, so joining them needs its capabilities), mount last (after it,
 * the caller's paths mean something else).
 */
export const JOIN_ORDER: NamespaceType[] = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];
