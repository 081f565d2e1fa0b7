/** src/plan/usermap.ts: who writes a new user namespace's id maps, and how. */
import { describe, expect, test } from "bun:test";
import { idMapSteps } from "../../src/plan/usermap";

const root = { euid: 0, egid: 0, privileged: true };
const user = { euid: 1000, egid: 1000, privileged: false };
const self = [{ containerID: 0, hostID: 1000, size: 1 }];
const range = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];

describe("idMapSteps", () => {
  test("root writes both maps itself, whatever they are; setgroups untouched", () => {
    expect(idMapSteps(range, range, root)).toEqual([
      { file: "uid_map", content: "0 1000 1\n1 100000 65536\n" },
      { file: "gid_map", content: "0 1000 1\n1 100000 65536\n" },
    ]);
  });

  test("an unprivileged caller mapping only itself writes the maps, with setgroups denied before gid_map", () => {
    expect(idMapSteps(self, self, user)).toEqual([
      { file: "uid_map", content: "0 1000 1\n" },
      { file: "setgroups", content: "deny" },
      { file: "gid_map", content: "0 1000 1\n" },
    ]);
  });

  test("any other mapping of an unprivileged caller goes through newuidmap/newgidmap with inside-outside-count triples", () => {
    expect(idMapSteps(range, range, user)).toEqual([
      { tool: "newuidmap", args: ["0", "1000", "1", "1", "100000", "65536"] },
      { tool: "newgidmap", args: ["0", "1000", "1", "1", "100000", "65536"] },
    ]);
  });

  test("each map is decided on its own: another user's id, or a size above one, needs the helper", () => {
    const other = [{ containerID: 0, hostID: 1001, size: 1 }];
    expect(idMapSteps(other, self, user)).toEqual([
      { tool: "newuidmap", args: ["0", "1001", "1"] },
      { file: "setgroups", content: "deny" },
      { file: "gid_map", content: "0 1000 1\n" },
    ]);
    const wide = [{ containerID: 0, hostID: 1000, size: 2 }];
    expect(idMapSteps(self, wide, user)).toEqual([{ file: "uid_map", content: "0 1000 1\n" }, { tool: "newgidmap", args: ["0", "1000", "2"] }]);
  });

  test("the gid decision uses the effective gid, not the uid", () => {
    expect(idMapSteps(self, self, { euid: 1000, egid: 50, privileged: false })[1]).toEqual({ tool: "newgidmap", args: ["0", "1000", "1"] });
  });
});
