/** src/plan/idmap.ts: which mounts are idmapped, with which user namespace and attributes. */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { planIdmappedMounts, type IdmapContext } from "../../src/plan/idmap";
import { parseConfig } from "../../src/spec/config";
import { defaultSpec } from "../../src/spec/default";

// linux/mount.h
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_IDMAP = 0x100000;

const DEFAULT_MOUNTS = (defaultSpec() as { mounts: unknown[] }).mounts.length;
const own = { uidMappings: [{ containerID: 1000, hostID: 0, size: 1 }], gidMappings: [{ containerID: 1000, hostID: 0, size: 1 }] };
const ctx: IdmapContext = { bundle: "/bundle", newUserns: false, joinedUserns: false, rootless: false };

function plan(mount: Record<string, unknown>, over: Partial<IdmapContext> = {}, edit?: (c: any) => void) {
  const c: any = structuredClone(defaultSpec());
  c.mounts.push({ destination: "/data", type: "bind", source: "data", ...mount });
  edit?.(c);
  return planIdmappedMounts(parseConfig(c), { ...ctx, ...over });
}

function planError(mount: Record<string, unknown>, over: Partial<IdmapContext> = {}, edit?: (c: any) => void): string {
  try {
    plan(mount, over, edit);
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    return (e as Error).message;
  }
  throw new Error("planIdmappedMounts accepted the mount");
}

describe("planIdmappedMounts", () => {
  test("no idmap option and no mappings: nothing to do", () => {
    expect(plan({ options: ["rbind", "ro"] })).toEqual([]);
  });

  test("idmap: MOUNT_ATTR_IDMAP on the top mount with its other attributes; the mount's own mappings; source from the bundle", () => {
    const [m] = plan({ options: ["bind", "ro", "nosuid", "idmap"], ...own });
    expect(m).toMatchObject({ source: "/bundle/data", recursiveBind: false, userns: own });
    expect(m!.top).toEqual({ set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_IDMAP, clear: 0 });
    expect(m!.recursive).toEqual({ set: 0, clear: 0 });
    expect(m!.index).toBe(DEFAULT_MOUNTS);
  });

  test("ridmap: MOUNT_ATTR_IDMAP on the whole tree, with the recursive attributes", () => {
    const [m] = plan({ options: ["rbind", "rro", "ridmap"], ...own });
    expect(m!.recursiveBind).toBe(true);
    expect(m!.recursive).toEqual({ set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_IDMAP, clear: 0 });
    expect(m!.top.set & MOUNT_ATTR_IDMAP).toBe(0);
  });

  test("mappings without the option mean idmap (as runc)", () => {
    const [m] = plan({ options: ["bind"], ...own });
    expect(m!.top.set).toBe(MOUNT_ATTR_IDMAP);
  });

  test("idmap alone takes the container's new user namespace mappings, or the joined user namespace", () => {
    const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const [m] = plan({ options: ["bind", "idmap"] }, { newUserns: true }, (c) => {
      c.linux.uidMappings = maps;
      c.linux.gidMappings = maps;
    });
    expect(m!.userns).toEqual({ uidMappings: maps, gidMappings: maps });
    expect(plan({ options: ["bind", "idmap"] }, { joinedUserns: true })[0]!.userns).toBe("joined");
  });

  test("refusals: not a bind, one mapping only, idmap with no mapping anywhere, rootless, bad mappings", () => {
    expect(planError({ type: "tmpfs", source: "tmpfs", options: ["idmap"], ...own })).toContain("supported only for bind mounts");
    expect(planError({ options: ["bind"], uidMappings: own.uidMappings })).toContain("needs both uidMappings and gidMappings");
    expect(planError({ options: ["bind", "idmap"] })).toContain("the container has none");
    expect(planError({ options: ["bind", "idmap"], ...own }, { rootless: true })).toContain("not with a rootless bunc");
    const overlapping = [{ containerID: 0, hostID: 0, size: 10 }, { containerID: 5, hostID: 100, size: 1 }];
    expect(planError({ options: ["bind"], uidMappings: overlapping, gidMappings: own.gidMappings })).toBe(
      'config.json: mounts[' + DEFAULT_MOUNTS + '] ("/data").uidMappings[1]: overlaps uidMappings[0]',
    );
    expect(planError({ options: ["bind"], uidMappings: [{ containerID: 0, hostID: 0, size: 0 }], gidMappings: own.gidMappings })).toContain("size: expected a positive size");
  });
});
