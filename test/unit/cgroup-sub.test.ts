import { describe, expect, test } from "bun:test";
import { subCgroupPaths } from "../../src/cgroups/sub";

const paths = { "/sys/fs/cgroup/pids": "/sys/fs/cgroup/pids/c", "/sys/fs/cgroup/cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c", "/sys/fs/cgroup/memory": "/sys/fs/cgroup/memory/c" };
const yes = () => true;

describe("exec --cgroup (runc's getSubCgroupPaths)", () => {
  test("no argument: the container's own cgroups", () => expect(subCgroupPaths(paths, [], yes)).toEqual(paths));
  test("a path alone applies to every hierarchy", () =>
    expect(Object.values(subCgroupPaths(paths, ["s/t"], yes))).toEqual(Object.values(paths).map((p) => `${p}/s/t`)));
  test("controller:path only to that controller's hierarchy (co-mounted ones included)", () => {
    const out = subCgroupPaths(paths, ["cpuacct,pids:s"], yes);
    expect(out["/sys/fs/cgroup/cpu,cpuacct"]).toBe("/sys/fs/cgroup/cpu,cpuacct/c/s");
    expect(out["/sys/fs/cgroup/pids"]).toBe("/sys/fs/cgroup/pids/c/s");
    expect(out["/sys/fs/cgroup/memory"]).toBe("/sys/fs/cgroup/memory/c");
  });
  test("refusals", () => {
    expect(() => subCgroupPaths(paths, ["a", "b"], yes)).toThrow("missing <controller>: prefix");
    expect(() => subCgroupPaths(paths, [":a"], yes)).toThrow("empty <controller> prefix");
    expect(() => subCgroupPaths(paths, ["pids:a", "pids:b"], yes)).toThrow("specified multiple times");
    expect(() => subCgroupPaths(paths, ["rdma:a"], yes)).toThrow("unknown controller rdma");
    expect(() => subCgroupPaths(paths, ["pids:../x"], yes)).toThrow("--cgroup: ../x is not a sub cgroup path");
    expect(() => subCgroupPaths(paths, ["pids:a"], () => false)).toThrow("error adding pid of the new process to cgroups: sub-cgroup a does not exist: /sys/fs/cgroup/pids/c/a/cgroup.procs: no such file or directory");
  });
});
