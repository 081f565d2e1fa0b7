import { defineCommand, type ArgsDef } from "citty";
import { readFileSync } from "node:fs";
import { execInContainer, execTarget } from "../container/exec";
import { execProcess } from "../container/exec-process";
import { reportWarning } from "./report";
import { containerPasswd } from "../container/passwd";
import { apparmorEnabled, selinuxEnabled } from "../linux/lsm";
import { refuseLsm } from "../container/unsupported";
import { BuncError } from "../errors";
import { parseWith, Process } from "../spec/config";
import { nonNegative, parseLeadingFlags, store } from "./args";
import { reportError } from "./report";

/** exec's flags (for --help; parsing is below, since it must stop at the first argument after the id). */
const args = {
  id: { type: "positional", description: "container id", required: true },
  command: { type: "positional", required: false, valueHint: "<COMMAND> [ARGS…]", description: "the command to run in the container, and its arguments (not with -p)" },
  "console-socket": { type: "string", description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  cwd: { type: "string", description: "current working directory in the container" },
  env: { type: "string", alias: "e", description: "set environment variables (repeatable)" },
  tty: { type: "boolean", alias: "t", description: "allocate a pseudo-TTY" },
  user: { type: "string", alias: "u", description: "UID (format: <uid>[:<gid]>) or user name" },
  "additional-gids": { type: "string", alias: "g", description: "additional gids (repeatable)" },
  process: { type: "string", alias: "p", description: "path to the process.json" },
  detach: { type: "boolean", alias: "d", description: "detach from the container's process" },
  "pid-file": { type: "string", description: "specify the file to write the process id to" },
  "process-label": { type: "string", description: "set the asm process label for the process commonly used with selinux" },
  apparmor: { type: "string", description: "set the apparmor profile for the process" },
  "no-new-privs": { type: "boolean", description: "set the no new privileges value for the process" },
  cap: { type: "string", alias: "c", description: "add a capability to the bounding set for the process (repeatable)" },
  "preserve-fds": { type: "string", description: "pass N additional file descriptors to the container", default: "0" },
  cgroup: { type: "string", description: "run the process in an (existing) sub-cgroup(s); format is [<controller>:]<cgroup> (repeatable)" },
  "ignore-paused": { type: "boolean", description: "allow exec in a paused container" },
  "pidfd-socket": { type: "string", description: "path to an AF_UNIX socket which will receive a pidfd of the process" },
} as const;

const ALIASES: Record<string, string> = { e: "env", t: "tty", u: "user", g: "additional-gids", p: "process", d: "detach", c: "cap" };
const REPEATED = new Set(["env", "additional-gids", "cap", "cgroup"]);

interface Parsed {
  id: string;
  command: string[];
  values: Record<string, string | undefined>;
  lists: Record<string, string[]>;
  bools: Record<string, boolean | undefined>;
}

/** Flags up to the container id; everything after the id is the command, flags included (as runc). */
export function parseExecArgs(argv: readonly string[]): Parsed {
  const f = parseLeadingFlags(argv, args as ArgsDef, ALIASES, REPEATED);
  if (!f.positional) throw new BuncError("exec: a container id is required", { code: "EINVAL" });
  return { id: f.positional, command: f.rest, values: f.values, lists: { env: [], "additional-gids": [], cap: [], cgroup: [], ...f.lists }, bools: f.bools };
}

export default defineCommand({
  meta: { name: "exec", description: "execute new process inside the container" },
  args,
  async run({ rawArgs }) {
    // As runc: a failed exec exits 255, so that it is never taken for the exit status of the process.
    try {
      globalThis.process.exitCode = await exec(rawArgs);
    } catch (e) {
      reportError(e);
      globalThis.process.exitCode = 255;
    }
  },
});

/** The exec verb proper; returns the exit status. */
async function exec(rawArgs: string[]): Promise<number> {
  const a = parseExecArgs(rawArgs);
  if (a.values.apparmor && !apparmorEnabled()) throw new BuncError("--apparmor: apparmor is not enabled on this host", { code: "ENOTSUP" });
  if (a.values["process-label"] && !selinuxEnabled()) throw new BuncError("--process-label: selinux is not enabled on this host", { code: "ENOTSUP" });
  const s = store();
  const ignorePaused = a.bools["ignore-paused"];
  // The container's state first: a stopped container has no /etc/passwd to look a user up in.
  const record = execTarget(s, a.id, ignorePaused);
  const process = a.values.process
    ? readProcessFile(a.values.process)
    : execProcess(
        record.process,
        {
          args: a.command,
          cwd: a.values.cwd,
          env: a.lists.env!,
          tty: a.bools.tty,
          user: a.values.user,
          additionalGids: a.lists["additional-gids"]!.map((g) => nonNegative(g, "additional-gids")),
          caps: a.lists.cap!,
          noNewPrivs: a.bools["no-new-privs"],
        },
        () => containerPasswd(`/proc/${record.pid}/root`),
      );
  // As runc: the container's profile and label unless the flags or process.json name others.
  process.apparmorProfile = a.values.apparmor || process.apparmorProfile || record.process?.apparmorProfile;
  process.selinuxLabel = a.values["process-label"] || process.selinuxLabel || record.process?.selinuxLabel;
  // A process.json may name a profile or label too: never run it unconfined instead.
  refuseLsm({ process });
  return await execInContainer(s, a.id, {
    process,
    detach: a.bools.detach,
    pidFile: a.values["pid-file"],
    consoleSocket: a.values["console-socket"],
    preserveFds: nonNegative(a.values["preserve-fds"] ?? "0", "preserve-fds"),
    ignorePaused,
    cgroups: a.lists.cgroup!,
    pidfdSocket: a.values["pidfd-socket"],
    onWarning: reportWarning,
  });
}

/** A process.json (-p), checked against the schema of config.json's process. */
function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new BuncError(`cannot read process file ${file}: ${(e as Error).message}`, { code: "ENOENT" });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BuncError(`process.json: invalid JSON: ${(e as Error).message}`, { code: "CONFIG" });
  }
  return parseWith(Process, json, "process.json");
}
