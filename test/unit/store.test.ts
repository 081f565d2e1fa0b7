/** src/container/store.ts validateId: runc's container id rule ([\w+,.-]+, not "." or ".."). */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BuncError } from "../../src/errors";
import { Store, validateId } from "../../src/container/store";

describe("validateId", () => {
  for (const id of ["a", "a.b", "a,b", "a+b", "-x", ".a", "a_b", "A-Z_0.9", "..a", "a..", "x".repeat(1024)]) {
    test(`accepts ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…` : id)}`, () => expect(() => validateId(id)).not.toThrow());
  }

  for (const id of ["", ".", "..", "a/b", "/a", "a b", "a:b", "a\nb", "a\0b", "é", "a*", "../x"]) {
    test(`refuses ${JSON.stringify(id)}`, () => {
      let error: unknown;
      try {
        validateId(id);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BuncError);
      expect((error as BuncError).code).toBe("EINVAL");
      expect((error as BuncError).message).toContain(`invalid container id ${JSON.stringify(id)}`);
    });
  }
});

describe("Store cgroup paths of a container being created", () => {
  test("recorded in the state dir before state.json, read back; none recorded → undefined", () => {
    const root = mkdtempSync(`${tmpdir()}/bunc-store-`);
    try {
      const store = new Store(root);
      store.claim("a");
      expect(store.loadCgroupPaths("a")).toBeUndefined();
      store.saveCgroupPaths("a", { paths: { "/sys/fs/cgroup/memory": "/sys/fs/cgroup/memory/x" }, made: ["/sys/fs/cgroup/memory/x"] });
      expect(store.load("a")).toBeUndefined(); // still "creating"
      expect(store.loadCgroupPaths("a")).toEqual({ paths: { "/sys/fs/cgroup/memory": "/sys/fs/cgroup/memory/x" }, made: ["/sys/fs/cgroup/memory/x"] });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
