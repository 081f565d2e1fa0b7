/**
 * Bind sources cloned by bunc before the container's user namespace exists.
 * The container's root is an unprivileged uid on the host: it cannot search
 * a directory only the host's root may enter (a bind source under a 0700
 * directory), so the executor's own open_tree(2) of it fails with EACCES.
 * runc opens every bind source before entering the user namespace and
 * passes the fds (userns.bats, "userns with 2 inaccessible mounts"); here the
 * parent clones each source with open_tree(2) and the executor attaches
 * that tree when its own clone is refused.
 */
import { closeSync, realpathSync } from "node:fs";
import { posix as path } from "node:path";
import { cstr, rawSyscall, SYS } from "../linux/libc";
import { isUnder, mountHolding, mountTable, type MountEntry } from "../linux/mountinfo";
import { parseMountOptions } from "../plan/mount-options";
import type { Spec } from "../spec/config";
import type { Undo } from "./undo";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;
const O_CLOEXEC = 0o2000000;
const MS_SLAVE = 1 << 19;

/**
 * A detached clone of each bind mount's source (by index in mounts), for a
 * container in a user namespace; none otherwise. A source bunc cannot clone
 * either is left to the executor, which reports it. undo closes the fds.
 *
 * Our clone is made outside the user namespace, so none of its flags or
 * submounts is locked as they are in the container's copy of the mount
 * table (mount_namespaces(7), "restrictions on mount namespaces"): the
 * container's root could make a host read-only mount writable, or uncover
 * what a submount hides. So no clone is offered for a source with mounts
 * under it or on a mount that is ro, nosuid, nodev or noexec: that one
 * stays refused, as before.
 */
export function bindSourceTrees(spec: Spec, bundle: string, userns: boolean, skip: ReadonlySet<number>, undo: Undo): Map<number, number> {
  const trees = new Map<number, number>();
  if (!userns) return trees;
  let table: MountEntry[] | undefined;
  (spec.mounts ?? []).forEach((m, index) => {
    const opts = parseMountOptions(m.options);
    if (skip.has(index) || !(opts.bind || m.type === "bind")) return;
    const source = path.resolve(bundle, m.source ?? "");
    table ??= mountTable();
    const real = cloneable(source, table);
    if (real === undefined) return;
    const tree = rawSyscall(SYS.open_tree, AT_FDCWD, cstr(real), OPEN_TREE_CLONE | O_CLOEXEC | (opts.recursiveBind ? AT_RECURSIVE : 0));
    if (tree < 0) return;
    // A clone of a shared mount joins its peer group: as a slave, nothing the
    // container mounts under it propagates back to the host ("/" is rslave for
    // the same reason).
    const attr = new BigUint64Array([0n, 0n, BigInt(MS_SLAVE), 0n]);
    if (rawSyscall(SYS.mount_setattr, tree, cstr(""), AT_EMPTY_PATH | AT_RECURSIVE, attr, 32) < 0) return closeSync(tree);
    undo.push(() => closeSync(tree));
    trees.set(index, tree);
  });
  return trees;
}

const LOCKED_FLAGS = ["ro", "nosuid", "nodev", "noexec"];

/** The real path of source when a clone of it would lock nothing (see bindSourceTrees), else undefined. */
function cloneable(source: string, table: MountEntry[]): string | undefined {
  let real: string;
  try {
    real = realpathSync(source);
  } catch {
    return undefined;
  }
  const holder = mountHolding(real, table);
  if (!holder || holder.options.some((o) => LOCKED_FLAGS.includes(o))) return undefined;
  return table.some((m) => m.mountpoint !== real && isUnder(m.mountpoint, real)) ? undefined : real;
}
