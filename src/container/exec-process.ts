/**
 * The process an exec starts when it is given by flags rather than by
 * --process: the container's own config.json process, with runc's
 * overrides (exec.go getProcess): args, cwd, extra env, tty, user,
 * additional gids, extra capabilities, no_new_privs.
 */
import { BuncError } from "../errors";
import type { Process } from "../spec/config";
import type { PasswdEntry } from "./passwd";

export interface ExecFlags {
  args: string[];
  cwd?: string;
  env: string[];
  tty?: boolean;
  /** "uid[:gid]", or a user name from the container's /etc/passwd. */
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs?: boolean;
}

export function execProcess(base: Process | undefined, flags: ExecFlags, passwd: () => PasswdEntry[]): Process {
  if (flags.args.length === 0) throw new BuncError("exec: no command given (and no --process)", { code: "EINVAL" });
  const p: Process = structuredClone(base ?? { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } });
  p.args = flags.args;
  if (flags.cwd) p.cwd = flags.cwd;
  p.env = [...(p.env ?? []), ...flags.env];
  p.terminal = flags.tty ?? false;
  if (flags.noNewPrivs !== undefined) p.noNewPrivileges = flags.noNewPrivs;
  p.user = { ...(p.user ?? { uid: 0, gid: 0 }) };
  if (flags.user) {
    const [u, g] = flags.user.split(":", 2) as [string, string | undefined];
    if (/^\d+$/.test(u)) p.user.uid = Number(u);
    else {
      const entry = passwd().find((e) => e.name === u);
      if (!entry) throw new BuncError(`exec: unable to find user ${u}: no matching entries in passwd file`, { code: "ENOENT" });
      p.user.uid = entry.uid;
      if (g === undefined) p.user.gid = entry.gid;
    }
    if (g !== undefined) {
      if (!/^\d+$/.test(g)) throw new BuncError(`exec: invalid gid ${JSON.stringify(g)} in --user`, { code: "EINVAL" });
      p.user.gid = Number(g);
    }
  }
  if (flags.additionalGids.length) p.user.additionalGids = [...(p.user.additionalGids ?? []), ...flags.additionalGids];
  if (flags.caps.length) {
    // Not the inheritable set: runc stopped adding --cap there (CVE-2022-29162).
    const c = { ...(p.capabilities ?? {}) };
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) c[set] = [...(c[set] ?? []), ...flags.caps];
    p.capabilities = c;
  }
  return p;
}
