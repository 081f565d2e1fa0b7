/** The --debug sink: off unless the CLI sets it, and then no message is even built. */
import { expect, test } from "bun:test";
import { debug } from "../../src/debug";

test("off by default: a call site builds no message", () => {
  expect(debug.log).toBeUndefined();
  let built = 0;
  const message = () => `built ${++built}`;
  debug.log?.(message());
  expect(built).toBe(0);
});

test("on: each line reaches the sink once", () => {
  const got: string[] = [];
  debug.log = (m) => got.push(m);
  try {
    debug.log?.("config loaded: x");
    expect(got).toEqual(["config loaded: x"]);
  } finally {
    debug.log = undefined;
  }
});
