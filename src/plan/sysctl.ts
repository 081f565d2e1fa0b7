/**
 * linux.sysctl: only keys that belong to a namespace the container has of
 * its own may be set (runc's validateSysctl); writing any other would change
 * the host. The executor writes them to the container's own procfs.
 */
import { BuncError } from "../errors";

const IPC_KEYS = new Set([
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
  "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.msg_next_id", "kernel.sem_next_id", "kernel.shm_next_id",
]);
const UTS_KEYS = new Set(["kernel.hostname", "kernel.domainname"]);

/** The namespace a key belongs to, or undefined when it is the host's. */
export function sysctlNamespace(key: string): "ipc" | "network" | "uts" | undefined {
  const k = key.replaceAll("/", ".");
  if (IPC_KEYS.has(k) || k.startsWith("fs.mqueue.")) return "ipc";
  if (k.startsWith("net.")) return "network";
  if (UTS_KEYS.has(k)) return "uts";
  return undefined;
}

/**
 * Check each key against the container's namespaces; returns [path under /proc/sys, value] pairs.
 * hostNetwork: the network namespace the config joins by path is the one bunc
 * runs in (as runc's isHostNetNS: "host" means bunc's, not the initial one).
 */
export function planSysctl(sysctl: Record<string, string>, namespaces: ReadonlySet<string>, hostNetwork = false): [string, string][] {
  return Object.entries(sysctl).map(([key, value]) => {
    const where = `config.json: linux.sysctl ${JSON.stringify(key)}`;
    const ns = sysctlNamespace(key);
    if (!ns) throw new BuncError(`${where}: not a namespaced sysctl: setting it would change the host (only kernel.msg*/sem/shm*, fs.mqueue.*, net.*, kernel.hostname/domainname are allowed)`, { code: "CONFIG" });
    if (!namespaces.has(ns)) throw new BuncError(`${where}: needs a ${ns} namespace of the container's own: it is not allowed in the host's`, { code: "CONFIG" });
    if (ns === "network" && hostNetwork)
      throw new BuncError(`${where}: not allowed in the host's network namespace, which linux.namespaces joins by path`, { code: "CONFIG" });
    // Keys use dots; a slash form is taken as it is (interface names may hold dots: net/ipv4/conf/eth0.100/...).
    const rel = key.includes("/") ? key.replace(/^\/+/, "") : key.replaceAll(".", "/");
    if (rel.split("/").some((c) => c === "" || c === "." || c === ".."))
      throw new BuncError(`${where}: not a valid sysctl name`, { code: "CONFIG" });
    return [rel, value];
  });
}
