/**
 * The parent's part of idmapped mounts (src/plan/idmap.ts says which):
 * a user namespace carrying each distinct mapping, and each source cloned
 * with open_tree(2) and idmapped with mount_setattr(2) while detached. The
 * executor attaches the trees with move_mount(2) inside the container.
 */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { spawn } from "../../ffi/executor";
import { BuncError } from "../errors";
import { readFull, socketPair } from "../linux/fs";
import { cstr, errnoError, rawSyscall, SYS } from "../linux/libc";
import { sendSignal } from "../linux/pidfd";
import { mapLines, type IdmappedMount, type IdMapping } from "../plan/idmap";
import { CLONE } from "../plan/namespaces";
import { encode, Msg, Op } from "../plan/program";
import type { Undo } from "./undo";

const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const P_PIDFD = 3;
const WEXITED = 4;

/**
 * An fd of a new user namespace with these mappings, made as runc and crun
 * do: a child is cloned into a new user namespace and waits; we write its
 * uid_map and gid_map, open /proc/PID/ns/user, and kill it. The fd keeps the
 * namespace alive. The child runs a one-step program of the C executor (no
 * JavaScript may run in a forked child).
 */
export function userNamespaceFd(uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): number {
  const [parentEnd, childEnd] = socketPair();
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(encode([{ code: Op.SYNC, what: "wait for the id maps", n: [Msg.SETUP] }], childEnd), BigInt(CLONE.NEWUSER));
  } finally {
    closeSync(childEnd);
  }
  if (typeof child === "number") {
    closeSync(parentEnd);
    throw errnoError("clone3 a user namespace for an idmapped mount", -child);
  }
  try {
    const msg = new Uint8Array(16);
    if (!readFull(parentEnd, msg) || new Int32Array(msg.buffer)[0] !== Msg.SETUP)
      throw new BuncError("the idmapped mount's user namespace helper exited early", { code: "ECHILD" });
    for (const [file, maps] of [["uid_map", uidMappings], ["gid_map", gidMappings]] as const) {
      try {
        writeFileSync(`/proc/${child.pid}/${file}`, mapLines(maps));
      } catch (e) {
        throw new BuncError(`idmapped mount: write ${file} of its user namespace: ${(e as Error).message}`, { code: "EINVAL", cause: e });
      }
    }
    return openSync(`/proc/${child.pid}/ns/user`, "r");
  } finally {
    closeSync(parentEnd);
    sendSignal(child.pidfd, 9);
    rawSyscall(SYS.waitid, P_PIDFD, child.pidfd, new Int32Array(32), WEXITED, null);
    closeSync(child.pidfd);
  }
}

/** struct mount_attr (linux/mount.h): attr_set, attr_clr, propagation, userns_fd. */
function setAttr(tree: number, attrs: { set: number; clear: number }, userns: number, recursive: boolean): number {
  if (!attrs.set && !attrs.clear) return 0;
  const attr = new BigUint64Array([BigInt(attrs.set), BigInt(attrs.clear), 0n, BigInt(userns)]);
  return rawSyscall(SYS.mount_setattr, tree, cstr(""), AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), attr, 32);
}

/** An idmapped mount with the fd of the user namespace that carries its mapping. */
export interface IdmapSource {
  mount: IdmappedMount;
  userns: number;
}

/**
 * The user namespace of every planned mount, one per distinct mapping
 * (joinedUserns: the fd of the user namespace the container joins, for
 * "idmap" without mappings of its own). undo closes the fds.
 */
export function idmapSources(mounts: readonly IdmappedMount[], joinedUserns: number | undefined, undo: Undo): Map<number, IdmapSource> {
  const out = new Map<number, IdmapSource>();
  const namespaces = new Map<string, number>();
  for (const mount of mounts) {
    let userns: number;
    if (mount.userns === "joined") {
      if (joinedUserns === undefined) throw new BuncError("idmapped mount: no joined user namespace", { code: "EINVAL" });
      userns = joinedUserns;
    } else {
      const key = JSON.stringify(mount.userns);
      let fd = namespaces.get(key);
      if (fd === undefined) {
        const made = userNamespaceFd(mount.userns.uidMappings, mount.userns.gidMappings);
        undo.push(() => closeSync(made));
        namespaces.set(key, (fd = made));
      }
      userns = fd;
    }
    out.set(mount.index, { mount, userns });
  }
  return out;
}

/** The fds idmapSources opened (not a joined namespace's), to close once the container is set up. */
export function ownFds(sources: ReadonlyMap<number, IdmapSource>, joinedUserns: number | undefined): number[] {
  return [...new Set([...sources.values()].map((s) => s.userns))].filter((fd) => fd !== joinedUserns);
}

/**
 * Idmap a detached tree the container's process cloned (open_tree(2)) and
 * sent us: its attributes and MOUNT_ATTR_IDMAP with mount_setattr(2), the
 * recursive ones first. A detached mount may be changed from any mount
 * namespace; the idmapping needs our CAP_SYS_ADMIN in the initial user
 * namespace.
 */
export function idmapTree(tree: number, source: IdmapSource): void {
  const { mount, userns } = source;
  let r = setAttr(tree, mount.recursive, userns, true);
  if (r === 0) r = setAttr(tree, mount.top, userns, false);
  // EINVAL is mostly a filesystem without FS_ALLOW_IDMAP (mount_setattr(2), "EINVAL").
  if (r < 0)
    throw errnoError(`idmap mount ${JSON.stringify(mount.source)}: mount_setattr${-r === 22 ? " (does its filesystem support idmapped mounts?)" : ""}`, -r);
}
