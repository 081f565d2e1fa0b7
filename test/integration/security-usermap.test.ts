/**
 * Id maps written by an unprivileged bunc (src/plan/usermap.ts): its own id
 * is written directly (setgroups denied first), anything else through
 * newuidmap/newgidmap. The fixture runs, as an unprivileged user, the very
 * code create uses (idMapSteps → writeProcFiles) on an executor child in a
 * new user namespace; full rootless runs are in rootless.test.ts. The user bunc-s2 with /etc/subuid and /etc/subgid ranges is
 * made by the test (rootless-user.ts); the uidmap package must be installed.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { REPO, sh } from "../harness";
import { testUser } from "./rootless-user";

// Made by the test when missing (CI runs as root): never skipped for its absence.
const user = process.getuid?.() === 0 ? testUser("bunc-s2") : undefined;
const skip =
  process.getuid?.() !== 0 ? "needs root to switch to an unprivileged user"
  : !existsSync("/usr/bin/newuidmap") ? "newuidmap is not installed (uidmap package)"
  : undefined;
if (!skip && !user?.sub) throw new Error("could not make the user bunc-s2 with /etc/subuid and /etc/subgid ranges");
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
    const uid = [{ containerID: 0, hostID: user!.uid, size: 1 }, { containerID: 1, hostID: user!.sub!, size: 1000 }];
    const gid = [{ containerID: 0, hostID: user!.gid, size: 1 }, { containerID: 1, hostID: user!.sub!, size: 1000 }];
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
