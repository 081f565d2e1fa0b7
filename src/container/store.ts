/**
 * The state directory ROOT/ID of each container: state.json (the facts,
 * written atomically by write + rename) and exec.fifo (present from create
 * until start). The status is never stored; see status.ts.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { debug } from "../debug";
import type { LinuxResources } from "../cgroups/resources";
import type { Hooks, LinuxMemoryPolicy, LinuxSeccomp, Process } from "../spec/config";

/** The directory under the root that holds the image cache, not a container. */
export const IMAGES_DIR = "images";

/** What bunc persists about a container. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** Host pid of the container's process; 0 before it exists. */
  pid: number;
  /** /proc/PID/stat field 22 of that process, so a recycled pid is never taken for it. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 time of create. */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The container's cgroup directory per hierarchy mount point. */
  cgroupPaths: Record<string, string>;
  /** config.json's process: what exec starts from (runc keeps the config in its state too). */
  process?: Process;
  /** The container's namespace types: what exec joins. */
  namespaces: string[];
  /**
   * A new pid namespace of its own (not joined by path): then killing its
   * init kills the rest, and delete leaves other processes of the cgroup
   * alone, as runc's destroy. Absent in records of older bunc versions.
   */
  ownPidNamespace?: boolean;
  /** The hooks that run after create: poststart (start) and poststop (delete). */
  hooks?: Pick<Hooks, "poststart" | "poststop">;
  /**
   * linux.resources as in force: the config's at create, with each update's
   * merged in (runc's update saves them in its state too), so an update of
   * part of a setting (a v2 cpu period alone) knows the rest.
   */
  resources?: LinuxResources;
  /** linux.seccomp: exec applies it to its process too. */
  seccomp?: LinuxSeccomp;
  /** linux.memoryPolicy: so does it (as runc's setns init). */
  memoryPolicy?: LinuxMemoryPolicy;
  /** No mount namespace of its own: the rootfs's bind onto itself in bunc's, holding every mount of the container, for delete to detach. */
  hostRootfsMount?: { path: string; id: number };
}

export const STATE_FILE = "state.json";
/**
 * The container's cgroup paths, written by create before it makes the
 * cgroup: a create that dies before state.json exists still says where its
 * cgroup is, and delete removes it.
 */
export const CGROUP_FILE = "cgroup.json";

/** What create records in CGROUP_FILE before it makes the cgroup: the new directories only. */
export interface CgroupRecord {
  /** The container's directory per hierarchy mount point (those that did not exist). */
  paths: Record<string, string>;
  /** Every directory the create will make, parents too, top down. */
  made: string[];
}
export const EXEC_FIFO = "exec.fifo";

/** A container id as runc allows: [A-Za-z0-9_+,.-]+ (its ^[\w+-\.]+$), but not "." or "..". */
export function validateId(id: string): void {
  if (!/^[\w+,\-.]+$/.test(id) || id === "." || id === "..")
    throw new BuncError(`invalid container id ${JSON.stringify(id)}: use letters, digits and _ + , - .`, { code: "EINVAL" });
  if (id === IMAGES_DIR) throw new BuncError(`invalid container id "${IMAGES_DIR}": the name of bunc's image cache under its root`, { code: "EINVAL" });
}

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  /** Make ROOT/ID; it is how create claims an id, so an existing one is an error. */
  claim(id: string): string {
    validateId(id);
    const dir = this.dir(id);
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new BuncError(`container with given ID already exists: ${id}`, { code: "EEXIST" });
      throw new BuncError(`create state directory ${dir}: ${(e as Error).message}`, { code: "STATE", cause: e });
    }
    return dir;
  }

  /** The record of id; an unknown container is an error. undefined while it is still being created. */
  load(id: string): ContainerRecord | undefined {
    validateId(id);
    let text: string;
    try {
      text = readFileSync(path.join(this.dir(id), STATE_FILE), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new BuncError(`read state of ${id}: ${(e as Error).message}`, { code: "STATE", cause: e });
      if (this.exists(id)) return undefined;
      throw new BuncError(`container ${id} does not exist`, { code: "ENOENT" });
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (e) {
      // A state.json cut short (a full disk in another runtime's hands, an editor): say so, and how to recover.
      throw new BuncError(`state of container ${id} is corrupted (${path.join(this.dir(id), STATE_FILE)}: ${(e as Error).message}); delete -f ${id} removes what is left`, { code: "STATE", cause: e });
    }
  }

  exists(id: string): boolean {
    try {
      readdirSync(this.dir(id));
      return true;
    } catch {
      return false;
    }
  }

  save(record: ContainerRecord): void {
    const file = path.join(this.dir(record.id), STATE_FILE);
    writeFileSync(file + ".tmp", JSON.stringify(record), { mode: 0o600 });
    renameSync(file + ".tmp", file);
    debug.log?.(`state written: ${file} (pid ${record.pid})`);
  }

  /** Record where the cgroup of a container being created is (see CGROUP_FILE). */
  saveCgroupPaths(id: string, record: CgroupRecord): void {
    const file = path.join(this.dir(id), CGROUP_FILE);
    writeFileSync(file + ".tmp", JSON.stringify(record), { mode: 0o600 });
    renameSync(file + ".tmp", file);
  }

  /** The cgroup create recorded for id, or undefined if it made none. */
  loadCgroupPaths(id: string): CgroupRecord | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.dir(id), CGROUP_FILE), "utf8")) as CgroupRecord;
    } catch {
      return undefined;
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids of every container under the root, sorted. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        // ROOT/images is the image cache (src/image/cache.ts), no container.
        .filter((d) => d.isDirectory() && d.name !== IMAGES_DIR)
        .map((d) => d.name)
        .sort();
    } catch (e) {
      // No root yet: no containers. One this user cannot read is an error, as runc's list.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      // Node's "EACCES: permission denied, scandir '…'" says the path twice: runc's "open ROOT: permission denied".
      throw new BuncError(`open ${this.root}: ${(e as Error).message.replace(/^E\w+: ([^,]+), .*$/s, "$1")}`, { code: "STATE", cause: e });
    }
  }
}
