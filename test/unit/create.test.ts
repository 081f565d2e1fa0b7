/** src/container/create.ts rfc3339Now: state.json's "created", RFC 3339 in UTC with trimmed microseconds. */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { rfc3339Now } from "../../src/container/create";

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
/** 2025-11-29T12:00:00Z in ms. */
const NOON = Date.UTC(2025, 10, 29, 12, 0, 0);

/** Pins performance.timeOrigin + performance.now() to NOON + offsetMs. */
function pin(offsetMs: number): void {
  Object.defineProperty(performance, "timeOrigin", { value: NOON, configurable: true });
  spyOn(performance, "now").mockReturnValue(offsetMs);
}

afterEach(() => {
  delete (performance as { timeOrigin?: number }).timeOrigin; // back to the prototype's getter
  (performance.now as unknown as { mockRestore?: () => void }).mockRestore?.();
});

describe("rfc3339Now", () => {
  test("the real clock: RFC 3339, UTC, no trailing zeros in the fraction, close to Date.now()", () => {
    for (let i = 0; i < 200; i++) {
      const before = Date.now();
      const s = rfc3339Now();
      const after = Date.now();
      expect(s).toMatch(RFC3339);
      expect(s).not.toMatch(/\.\d*0Z$/);
      const t = Date.parse(s);
      expect(t).toBeGreaterThanOrEqual(before - 1);
      expect(t).toBeLessThanOrEqual(after + 1);
    }
  });

  test("microseconds", () => {
    pin(123.25);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:00.12325Z");
  });

  test("trailing zeros trimmed", () => {
    pin(100);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:00.1Z");
    pin(10.5);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:00.0105Z");
  });

  test("sub-millisecond only", () => {
    pin(0.5);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:00.0005Z");
  });

  test("a whole second has no fraction, and the seconds' own zero stays", () => {
    pin(0);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:00Z");
    pin(10_000);
    expect(rfc3339Now()).toBe("2025-11-29T12:00:10Z");
  });
});
