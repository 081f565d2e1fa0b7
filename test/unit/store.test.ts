/** src/container/store.ts validateId: runc's container id rule ([\w+,.-]+, not "." or ".."). */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { validateId } from "../../src/container/store";

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
