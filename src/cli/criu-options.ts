/** What checkpoint and restore share: criuArgs' flags as criu options. */
import { posix as path } from "node:path";
import { parseManageCgroupsMode } from "../container/criu";
import { allValues } from "./args";

/** The criu options checkpoint and restore share, from criuArgs' flags (paths resolved against cwd). */
export function criuOptions(a: Record<string, unknown>, rawArgs: readonly string[], cwd: string) {
  const work = a["work-path"] as string | undefined;
  return {
    imagePath: path.resolve(cwd, (a["image-path"] as string | undefined) || "checkpoint"),
    workPath: work ? path.resolve(cwd, work) : undefined,
    tcpEstablished: Boolean(a["tcp-established"]),
    extUnixSk: Boolean(a["ext-unix-sk"]),
    shellJob: Boolean(a["shell-job"]),
    fileLocks: Boolean(a["file-locks"]),
    lazyPages: Boolean(a["lazy-pages"]),
    autoDedup: Boolean(a["auto-dedup"]),
    manageCgroupsMode: parseManageCgroupsMode(a["manage-cgroups-mode"] as string | undefined),
    emptyNs: allValues(rawArgs, "empty-ns"),
  };
}
