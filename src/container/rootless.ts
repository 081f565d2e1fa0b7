/**
 * Rootless mode, with runc's meaning (rootless_linux.go): whether cgroup
 * permission errors are forgiven (`--rootless auto|true|false`), where a
 * non-root user's state lives by default ($XDG_RUNTIME_DIR/bunc), and what a
 * config must have to run without privilege in the initial user namespace.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { BuncError } from "../errors";
import type { Spec } from "../spec/config";

/**
 * Whether this process is in a user namespace other than the initial one:
 * its uid_map is not the identity over the full 32-bit range (runc's
 * userns.RunningInUserNS; user_namespaces(7) "/proc/[pid]/uid_map").
 */
export function inUserNamespace(uidMap?: string): boolean {
  let text = uidMap;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/uid_map", "utf8");
    } catch {
      return false; // no user namespaces in this kernel: the initial one
    }
  }
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return !(lines.length === 1 && lines[0]!.split(/\s+/).join(" ") === "0 0 4294967295");
}

/**
 * --rootless: "true"/"false" as given; "auto" is rootless for a non-root
 * euid, and for root in a user namespace (bunc cannot know whether its
 * cgroup is writable there, so forgiving is the safe choice, as runc's
 * cgroupfs driver decides).
 */
export function rootlessCgroups(flag: string, euid = process.geteuid?.() ?? 0, userns = () => inUserNamespace()): boolean {
  if (flag === "true") return true;
  if (flag === "false") return false;
  return euid !== 0 || userns();
}

/**
 * The default --root: $XDG_RUNTIME_DIR/bunc for a non-root user, and for
 * root in a user namespace unless $USER is "root" (runc's
 * shouldHonorXDGRuntimeDir); /run/bunc otherwise. `xdg` says the directory
 * must be made (0700 and sticky) before use.
 */
export function defaultRoot(env: Record<string, string | undefined> = process.env, euid = process.geteuid?.() ?? 0, userns = () => inUserNamespace()): { root: string; xdg: boolean } {
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const honor = !!runtimeDir && (euid !== 0 || (userns() && env.USER !== "root"));
  return honor ? { root: `${runtimeDir}/bunc`, xdg: true } : { root: "/run/bunc", xdg: false };
}

/**
 * Make $XDG_RUNTIME_DIR/bunc 0700 with the sticky bit: the XDG Base
 * Directory spec lets a session manager prune files in the runtime dir
 * that lack it.
 */
export function prepareXdgRoot(root: string): void {
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, 0o1700);
  } catch (e) {
    throw new BuncError(`state directory ${root}: ${(e as Error).message} (the path in $XDG_RUNTIME_DIR must be writable by the user; or give --root)`, { code: "STATE", cause: e });
  }
}

/**
 * What a config needs for a non-root bunc (runc's validate rootlessEUID):
 * a new user namespace with at least one uid and one gid mapping, and no
 * uid=/gid= mount option naming an id the namespace does not map.
 */
export function validateRootlessEUID(spec: Spec): void {
  const linux = spec.linux;
  if (!(linux?.namespaces ?? []).some((ns) => ns.type === "user"))
    throw new BuncError("rootless container requires user namespaces (add {\"type\": \"user\"} to linux.namespaces, as `bunc spec --rootless` does)", { code: "CONFIG" });
  if (!linux?.uidMappings?.length) throw new BuncError("rootless containers requires at least one UID mapping (linux.uidMappings)", { code: "CONFIG" });
  if (!linux?.gidMappings?.length) throw new BuncError("rootless containers requires at least one GID mapping (linux.gidMappings)", { code: "CONFIG" });
  const mapped = (id: number, maps: readonly { containerID: number; size: number }[]) => maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
  for (const m of spec.mounts ?? []) {
    for (const opt of m.options ?? []) {
      const hit = /^(uid|gid)=(\d+)$/.exec(opt);
      if (!hit) continue;
      const maps = hit[1] === "uid" ? linux.uidMappings : linux.gidMappings;
      if (!mapped(Number(hit[2]), maps))
        throw new BuncError(`mounts: ${m.destination}: cannot specify ${hit[1]}= mount options for unmapped ${hit[1]} in rootless containers`, { code: "CONFIG" });
    }
  }
}

/**
 * The processes of a container that has no cgroup (a rootless one on a host
 * without delegation): those in its init's PID namespace, when it has one of
 * its own. runc's ps fails there ("unable to get all container pids"); the
 * PID namespace holds exactly the container's processes (pid_namespaces(7)).
 * Processes of other users cannot be read and are not the user's containers'.
 */
export function namespacePids(initPid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name));
    } catch {
      // gone, or another user's
    }
  }
  return pids;
}

/**
 * Whether setgroups(2) is denied in the user namespace of pid (user_namespaces(7)
 * "/proc/[pid]/setgroups"): `unshare --map-root-user` and any unprivileged map
 * writer leave "deny", and then runc's setupUser does not call it.
 */
export function setgroupsDenied(pid: number | "self" = "self"): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "deny";
  } catch {
    return false; // a kernel before 3.19 has no such file, nor the restriction
  }
}
