/**
 * Idmapped bind mounts (runtime-spec config.md "mounts": uidMappings,
 * gidMappings, the "idmap" and "ridmap" options). Pure: this decides which
 * mounts are idmapped, with which mappings and attributes; the parent
 * (src/container/idmap.ts) makes them.
 *
 * Why the parent: mount_setattr(2) with MOUNT_ATTR_IDMAP needs
 * CAP_SYS_ADMIN in the user namespace that owns the source's superblock —
 * the initial one for a host directory — and in the mapping's user
 * namespace (fs/namespace.c, can_idmap_mount and build_mount_idmapped). The
 * container's first process is already in its own user namespace when it
 * mounts, so, as runc 1.2 does, the parent clones the source with
 * open_tree(2), sets its attributes and idmapping while it is detached, and
 * the executor only attaches it with move_mount(2).
 */
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { LinuxIDMapping, Spec } from "../spec/config";
import { bindAttributes, MOUNT_ATTR, parseMountOptions } from "./mount-options";

export type IdMapping = LinuxIDMapping;

/**
 * Id mappings as user_namespaces(7) accepts them: at least one, none
 * empty, at most 340, no two overlapping on either side. where names them
 * in the error: "config.json: linux.uidMappings".
 */
export function checkIdMappings(maps: readonly IdMapping[] | undefined, where: string): void {
  const name = where.replace(/^.*[.:] ?/, "");
  if (!maps || maps.length === 0) throw new BuncError(`${where}: a new user namespace needs at least one mapping`, { code: "CONFIG" });
  if (maps.length > 340) throw new BuncError(`${where}: at most 340 mappings, got ${maps.length}`, { code: "CONFIG" });
  maps.forEach((m, i) => {
    if (m.size <= 0) throw new BuncError(`${where}[${i}].size: expected a positive size, got ${m.size}`, { code: "CONFIG" });
    for (const [j, o] of maps.entries()) {
      if (j >= i) break;
      const overlap = (a: number, b: number) => a < b + o.size && b < a + m.size;
      if (overlap(m.containerID, o.containerID) || overlap(m.hostID, o.hostID))
        throw new BuncError(`${where}[${i}]: overlaps ${name}[${j}]`, { code: "CONFIG" });
    }
  });
}

/** uid_map/gid_map content: one "ID-inside ID-outside length" line per mapping (user_namespaces(7)). */
export function mapLines(maps: readonly IdMapping[] = []): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** One idmapped bind mount, as the parent prepares it. */
export interface IdmappedMount {
  /** Index in config.json's mounts. */
  index: number;
  /** Absolute host path of the source. */
  source: string;
  /** rbind: clone the whole tree (open_tree AT_RECURSIVE). */
  recursiveBind: boolean;
  /**
   * The user namespace carrying the mapping: the mount's own mappings, or
   * the container's ("idmap" alone), or "joined": the user namespace the
   * container joins by path.
   */
  userns: { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | "joined";
  /** mount_setattr(2) on the whole tree (AT_RECURSIVE): "rro", …, and MOUNT_ATTR_IDMAP with "ridmap". */
  recursive: { set: number; clear: number };
  /** mount_setattr(2) on the top mount: "ro", …, and MOUNT_ATTR_IDMAP otherwise. */
  top: { set: number; clear: number };
}

export interface IdmapContext {
  bundle: string;
  /** The container creates its own user namespace (its mappings are linux.uidMappings/gidMappings). */
  newUserns: boolean;
  /** The container joins a user namespace by path. */
  joinedUserns: boolean;
  /** bunc runs without root in the initial user namespace. */
  rootless: boolean;
}

/**
 * The idmapped mounts of a config. A mount is idmapped when it has the
 * "idmap" or "ridmap" option or mappings of its own (mappings alone mean
 * "idmap", as runc). Refused, as runc 1.2 does: a non-bind mount, one of
 * the two mappings without the other, and a rootless bunc.
 */
export function planIdmappedMounts(spec: Spec, ctx: IdmapContext): IdmappedMount[] {
  const out: IdmappedMount[] = [];
  (spec.mounts ?? []).forEach((m, index) => {
    const opts = parseMountOptions(m.options);
    const own = m.uidMappings !== undefined || m.gidMappings !== undefined;
    if (!opts.idmap && !own) return;
    const where = `config.json: mounts[${index}] (${JSON.stringify(m.destination)})`;
    if (!opts.bind && m.type !== "bind")
      throw new BuncError(`${where}: idmapped mounts are supported only for bind mounts`, { code: "CONFIG" });
    if (ctx.rootless)
      throw new BuncError(`${where}: idmapped mounts need CAP_SYS_ADMIN in the initial user namespace: not with a rootless bunc`, { code: "ENOTSUP" });
    let userns: IdmappedMount["userns"];
    if (own) {
      if (!m.uidMappings?.length || !m.gidMappings?.length)
        throw new BuncError(`${where}: an idmapped mount needs both uidMappings and gidMappings`, { code: "CONFIG" });
      checkIdMappings(m.uidMappings, `${where}.uidMappings`);
      checkIdMappings(m.gidMappings, `${where}.gidMappings`);
      userns = { uidMappings: m.uidMappings, gidMappings: m.gidMappings };
    } else if (ctx.joinedUserns) {
      userns = "joined";
    } else if (ctx.newUserns && spec.linux?.uidMappings?.length && spec.linux?.gidMappings?.length) {
      userns = { uidMappings: spec.linux.uidMappings, gidMappings: spec.linux.gidMappings };
    } else {
      throw new BuncError(`${where}: "${opts.idmap}" without uidMappings and gidMappings takes the container's user namespace mappings, and the container has none`, { code: "CONFIG" });
    }
    const top = bindAttributes(opts);
    const recursiveIdmap = opts.idmap === "ridmap";
    out.push({
      index,
      source: path.resolve(ctx.bundle, m.source ?? ""),
      recursiveBind: opts.recursiveBind,
      userns,
      recursive: { set: opts.recursiveSet | (recursiveIdmap ? MOUNT_ATTR.IDMAP : 0), clear: opts.recursiveClear },
      top: { set: top.set | (recursiveIdmap ? 0 : MOUNT_ATTR.IDMAP), clear: top.clear },
    });
  });
  return out;
}
