/**
 * src/container/transitions.ts: every (verb, status) pair against an explicit
 * table, as runc's state_linux_test.go does. The expected table is runc 1.1's
 * behaviour (start.go, kill → Signal, delete.go, Pause/Resume, exec.go, Set),
 * with "creating" (no state.json yet) allowing only deletion.
 */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import type { Status } from "../../src/container/status";
import { canDo, guard, STATUSES, type Verb } from "../../src/container/transitions";

const VERBS: Verb[] = ["start", "kill", "delete", "forceDelete", "pause", "resume", "exec", "update", "checkpoint"];

/** true: the verb may act on a container in that status. */
const EXPECTED: Record<Verb, Record<Status, boolean>> = {
  //            creating  created  running  stopped  paused
  start:       { creating: false, created: true,  running: false, stopped: false, paused: false },
  kill:        { creating: false, created: true,  running: true,  stopped: false, paused: true },
  // runc deletes a created container without -f; a dir without state.json is removed too.
  delete:      { creating: true,  created: true,  running: false, stopped: true,  paused: false },
  forceDelete: { creating: true,  created: true,  running: true,  stopped: true,  paused: true },
  // runc's Pause(): "case Running, Created: freeze".
  pause:       { creating: false, created: true,  running: true,  stopped: false, paused: false },
  resume:      { creating: false, created: false, running: false, stopped: false, paused: true },
  // runc exec refuses stopped and (without --ignore-paused) paused containers.
  exec:        { creating: false, created: true,  running: true,  stopped: false, paused: false },
  // runc's Set(): everything but stopped.
  update:      { creating: false, created: true,  running: true,  stopped: false, paused: true },
  checkpoint:  { creating: false, created: false, running: true,  stopped: false, paused: true },
};

describe("STATUSES", () => {
  test("the five statuses", () => {
    expect([...STATUSES].sort()).toEqual(["created", "creating", "paused", "running", "stopped"]);
  });
});

describe("canDo: every (verb, status) pair", () => {
  for (const verb of VERBS) {
    for (const status of STATUSES) {
      const allowed = EXPECTED[verb][status];
      test(`${verb} ${allowed ? "may" : "may not"} act on a ${status} container`, () => {
        expect(canDo(verb, status)).toBe(allowed);
      });
    }
  }
});

describe("guard", () => {
  test("passes when the table allows", () => {
    expect(() => guard("start", "x", "created")).not.toThrow();
    expect(() => guard("forceDelete", "x", "running")).not.toThrow();
  });

  test("throws for every refused pair, a STATE BuncError naming the container and status", () => {
    for (const verb of VERBS) {
      for (const status of STATUSES) {
        if (EXPECTED[verb][status]) continue;
        let error: unknown;
        try {
          guard(verb, "c1", status);
        } catch (e) {
          error = e;
        }
        expect({ verb, status, threw: error instanceof BuncError }).toEqual({ verb, status, threw: true });
        expect((error as BuncError).code).toBe("STATE");
        expect((error as BuncError).message).toContain(verb === "exec" ? `cannot exec in a ${status} container c1` : `container c1: it is ${status}`);
      }
    }
  });

  test('"cannot start container x: it is running"', () => {
    expect(() => guard("start", "x", "running")).toThrow(new BuncError("cannot start container x: it is running"));
  });

  test("the message uses the verb's words", () => {
    expect(() => guard("exec", "x", "stopped")).toThrow("cannot exec in a stopped container x");
    expect(() => guard("resume", "x", "running")).toThrow("cannot resume container x: it is running");
  });

  test("delete of a running or paused container hints at -f", () => {
    expect(() => guard("delete", "x", "running")).toThrow("cannot delete container x: it is running (use delete -f)");
    expect(() => guard("delete", "x", "paused")).toThrow("cannot delete container x: it is paused (use delete -f)");
  });
});
