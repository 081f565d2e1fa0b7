/**
 * Id maps written by an unprivileged bunc (src/plan/usermap.ts): its own id
 * is written directly (setgroups denied first), anything else through
 * newuidmap/newgidmap. A full rootless `bunc run` cannot be tested on this
 * host: the cgroup v1 hierarchies are not delegated, so creating the
 * container's cgroup fails with EACCES before the maps are written. The
 * fixture instead runs, as an unprivileged user, the very code create uses
 * (idMapSteps → writeProcFiles) on an executor child in a new user
 * namespace. Needs a user with /etc/subuid and /etc/subgid ranges
 * (e.g. `useradd -M bunc-s2`, which allots them) and the uidmap package.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { REPO, sh } from "../harness";

/** The first user with both subordinate uid and gid ranges: [name, uid, gid, first sub uid]. */
function subordinateUser(): { name: string; uid: number; gid: number; sub: number } | undefined {
  try {
    const subgid = new Set(readFileSync("/etc/subgid", "utf8").split("\n").map((l) => l.split(":")[0]));
    for (const line of readFileSync("/etc/subuid", "utf8").split("\n")) {
      const [name, start] = line.split(":");
      if (!name || !subgid.has(name) || name === "root") continue;
      const id = sh(["id", "-u", name]);
      const gid = sh(["id", "-g", name]);
      if (id.code === 0) return { name, uid: Number(id.stdout), gid: Number(gid.stdout), sub: Number(start) };
    }
  } catch {
    /* no /etc/subuid */
  }
  return undefined;
}

const user = process.getuid?.() === 0 ? subordinateUser() : undefined;
const skip =
  process.getuid?.() !== 0 ? "needs root to switch to an unprivileged user"
  : !existsSync("/usr/bin/newuidmap") ? "newuidmap is not installed (uidmap package)"
  : !user ? "no user with /etc/subuid and /etc/subgid ranges (useradd -M bunc-s2)"
  : undefined;
if (skip) console.log(`skip security-usermap: ${skip}`);

function asUser(uid: unknown, gid: unknown): string {
  const r = sh(["setpriv", "--reuid", user!.name, "--regid", user!.name, "--init-groups", "env", "HOME=/tmp",
    `${REPO}/node_modules/.bin/bun`, `${REPO}/test/integration/fixtures/usermap-child.ts`, JSON.stringify(uid), JSON.stringify(gid)], { cwd: REPO });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!!skip)("id maps from an unprivileged bunc", () => {
  test("its own id only: written directly, setgroups denied before gid_map", () => {
    const uid = [{ containerID: 0, hostID: user!.uid, size: 1 }];
    const gid = [{ containerID: 0, hostID: user!.gid, size: 1 }];
    expect(asUser(uid, gid)).toBe(
      `["uid_map","setgroups","gid_map"]\nuid_map: 0 ${user!.uid} 1\ngid_map: 0 ${user!.gid} 1\nsetgroups: deny\n`,
    );
  });

  test("its own id and a subordinate range: newuidmap and newgidmap; setgroups stays allowed", () => {
    const uid = [{ containerID: 0, hostID: user!.uid, size: 1 }, { containerID: 1, hostID: user!.sub, size: 1000 }];
    const gid = [{ containerID: 0, hostID: user!.gid, size: 1 }, { containerID: 1, hostID: user!.sub, size: 1000 }];
    expect(asUser(uid, gid)).toBe(
      `["newuidmap","newgidmap"]\nuid_map: 0 ${user!.uid} 1 1 ${user!.sub} 1000\ngid_map: 0 ${user!.gid} 1 1 ${user!.sub} 1000\nsetgroups: allow\n`,
    );
  });

  test("a range it does not own: newuidmap refuses, and the error names the tool and the mapping", () => {
    const out = asUser([{ containerID: 0, hostID: 0, size: 1 }], [{ containerID: 0, hostID: user!.gid, size: 1 }]);
    expect(out).toContain("error: newuidmap ");
    expect(out).toContain(" 0 0 1: newuidmap: uid range [0-1) -> [0-1) not allowed");
  });
});
