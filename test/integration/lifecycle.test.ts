import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { integrationSkipReason, Sandbox } from "../harness";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping integration tests: ${skip}`);

describe.skipIf(!!skip)("lifecycle", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("run prints the container's output and returns its exit code", () => {
    const r = sb.bunc(["run", "-b", sb.bundle(["sh", "-c", "echo hi from $(hostname); exit 7"]), sb.id()]);
    expect(r.stdout).toBe("hi from bunc\n");
    expect(r.code).toBe(7);
  });

  test("create → created, start → running, kill → stopped, delete → gone", () => {
    const id = sb.id();
    const bundle = sb.bundle(["sleep", "30"]);
    const pidFile = `${sb.dir}/${id}.pid`;
    expect(sb.bunc(["create", "-b", bundle, "--pid-file", pidFile, id]).code).toBe(0);
    const created = sb.state(id);
    expect(created.status).toBe("created");
    expect(readFileSync(pidFile, "utf8")).toBe(String(created.pid));
    expect(sb.bunc(["start", id]).code).toBe(0);
    expect(sb.state(id).status).toBe("running");
    expect(sb.bunc(["kill", id, "KILL"]).code).toBe(0);
    Bun.sleepSync(200);
    expect(sb.state(id)).toMatchObject({ status: "stopped", pid: 0 });
    expect(sb.bunc(["delete", id]).code).toBe(0);
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    const gone = sb.bunc(["state", id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("does not exist");
  });
});
