/**
 * The unprivileged users of the rootless tests, made by the tests themselves
 * when they run as root (as CI does): bunc-s2 with /etc/subuid and
 * /etc/subgid ranges, and bunc-s3 with none. Both are system-wide and kept:
 * a second run finds them (useradd is not repeated), and tests running at the
 * same time make each one only once (useradd locks /etc/passwd; EEXIST from a
 * concurrent useradd is fine).
 */
import { chownSync, mkdirSync, readFileSync } from "node:fs";
import { sh } from "../harness";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The first subordinate uid (and gid) of its 65536-long ranges; undefined for a user without ranges. */
  sub?: number;
}

const SUB = { "bunc-s2": 300000, "bunc-s3": undefined } as const;

function lookup(name: string): { uid: number; gid: number } | undefined {
  const id = sh(["id", "-u", name]);
  if (id.code !== 0) return undefined;
  return { uid: Number(id.stdout), gid: Number(sh(["id", "-g", name]).stdout) };
}

/** The first subordinate id of name's range in /etc/subuid or /etc/subgid, if it has one. */
function subRange(file: string, name: string): number | undefined {
  try {
    const line = readFileSync(file, "utf8").split("\n").find((l) => l.split(":")[0] === name);
    return line ? Number(line.split(":")[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The test user `name`, made if missing (only root can; undefined otherwise).
 * bunc-s2 gets ranges of its own (usermod --add-subuids) unless it has them.
 */
export function testUser(name: keyof typeof SUB): TestUser | undefined {
  let ids = lookup(name);
  if (!ids && process.getuid?.() === 0) {
    // -K SUB_*_COUNT=0: useradd allots no ranges itself; bunc-s2's are set below, bunc-s3 has none.
    for (let i = 0; i < 20 && !ids; i++) {
      const r = sh(["useradd", "-M", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name]);
      ids = lookup(name);
      // Another test's useradd holds /etc/passwd's lock: try again shortly.
      if (!ids && /lock/i.test(r.stderr)) Bun.sleepSync(100);
    }
  }
  if (!ids) return undefined;
  const want = SUB[name];
  if (want === undefined) {
    const sub = subRange("/etc/subuid", name);
    if (sub !== undefined && process.getuid?.() === 0) sh(["usermod", "--del-subuids", `${sub}-${sub + 65535}`, name]);
    const gsub = subRange("/etc/subgid", name);
    if (gsub !== undefined && process.getuid?.() === 0) sh(["usermod", "--del-subgids", `${gsub}-${gsub + 65535}`, name]);
    return { name, ...ids, sub: subRange("/etc/subuid", name) };
  }
  let sub = subRange("/etc/subuid", name);
  if (sub === undefined || subRange("/etc/subgid", name) === undefined) {
    if (process.getuid?.() !== 0) return { name, ...ids };
    sh(["usermod", "--add-subuids", `${want}-${want + 65535}`, "--add-subgids", `${want}-${want + 65535}`, name]);
    sub = subRange("/etc/subuid", name);
  }
  return { name, ...ids, sub };
}

/** A directory the user owns (mode 0700), made by root. */
export function userDir(user: TestUser, dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, user.uid, user.gid);
  return dir;
}
