import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuncError } from "../../src/errors";
import { parseConfig, parseConfigText } from "../../src/spec/config";

const runc = Bun.which("runc") ?? Bun.which("runc", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });

/** Runs `runc spec [args]` in a fresh directory and returns config.json's text. */
function runcSpec(dir: string, ...args: string[]): string {
  const proc = Bun.spawnSync([runc!, "spec", ...args], { cwd: dir, stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`runc spec failed: ${proc.stderr.toString()}`);
  return readFileSync(join(dir, "config.json"), "utf8");
}

/** A small valid config, like `runc spec` without the noise. */
function minimal(): any {
  return {
    ociVersion: "1.2.0",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }] },
  };
}

/** The message of the BuncError that parseConfig throws for `config`. */
function errorOf(config: unknown): string {
  try {
    parseConfig(config);
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    expect((e as BuncError).code).toBe("CONFIG");
    const message = (e as BuncError).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("parseConfig accepted the config");
}

describe.skipIf(!runc)("runc spec output", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bunc-config-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("runc spec is accepted unchanged", () => {
    const text = runcSpec(dir);
    const spec = parseConfigText(text);
    expect(spec).toEqual(JSON.parse(text));
    expect(spec.process?.args).toEqual(["sh"]);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toContain("mount");
  });

  test("runc spec --rootless is accepted unchanged", () => {
    rmSync(join(dir, "config.json"), { force: true });
    const text = runcSpec(dir, "--rootless");
    const spec = parseConfigText(text);
    expect(spec).toEqual(JSON.parse(text));
    expect(spec.linux?.uidMappings?.length).toBeGreaterThan(0);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toContain("user");
  });
});

describe("accepts", () => {
  test("a minimal config, and one without process", () => {
    expect(parseConfig(minimal()).process?.cwd).toBe("/");
    const noProcess = minimal();
    delete noProcess.process;
    expect(parseConfig(noProcess).process).toBeUndefined();
    expect(parseConfig({ ociVersion: "1.0.0" })).toEqual({ ociVersion: "1.0.0" });
  });

  test("unknown fields anywhere, and keeps them", () => {
    const c = minimal();
    c.org_example_top = { any: ["thing"] };
    c.process.futureField = 42;
    c.process.user.extra = "x";
    c.mounts[0].whatever = true;
    c.linux.namespaces[0].flavour = "new";
    c.linux.resources = { memory: { limit: 1024, newKnob: 1 }, brandNew: {} };
    c.windows = { layerFolders: ["C:\\layers"], anything: 1 };
    c.solaris = { milestone: "x" };
    c.vm = { hypervisor: { path: "/usr/bin/qemu" } };
    c.zos = {};
    c.freebsd = { jail: {} };
    const spec = parseConfig(c);
    expect(spec).toEqual(c);
    expect(spec.org_example_top).toEqual({ any: ["thing"] });
    expect(spec.process?.futureField).toBe(42);
    expect(spec.linux?.resources?.memory?.newKnob).toBe(1);
  });

  test("a device rule's access with letters runc ignores (they are dropped with a warning when applied)", () => {
    const c = minimal();
    c.linux.resources = { devices: [{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 11, access: "rwa" }] };
    expect(parseConfig(c).linux?.resources?.devices?.[1]?.access).toBe("rwa");
  });

  test("every field of the spec", () => {
    const big = 18446744073709551615; // 2^64-1, rounded by JSON.parse
    const c = {
      ociVersion: "1.3.0",
      root: { path: "/var/lib/rootfs", readonly: true },
      mounts: [
        { destination: "/data", source: "/srv/data", type: "none", options: ["rbind", "idmap"],
          uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
          gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] },
      ],
      process: {
        terminal: true,
        consoleSize: { height: 25, width: 80 },
        user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 6], username: "me" },
        args: ["/bin/sh", "-c", "true"],
        commandLine: "sh -c true",
        env: ["PATH=/bin", "TERM=xterm"],
        cwd: "/home/me",
        rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }, { type: "RLIMIT_CORE", soft: big, hard: big }],
        apparmorProfile: "docker-default",
        capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], inheritable: [], permitted: ["CAP_KILL"], ambient: [] },
        noNewPrivileges: true,
        oomScoreAdj: -1000,
        scheduler: { policy: "SCHED_DEADLINE", nice: -5, priority: 0, flags: ["SCHED_FLAG_RESET_ON_FORK"],
          runtime: 10000000, deadline: 20000000, period: 30000000 },
        selinuxLabel: "system_u:system_r:container_t:s0",
        ioPriority: { class: "IOPRIO_CLASS_BE", priority: 4 },
        execCPUAffinity: { initial: "0-3,7", final: "4" },
      },
      hostname: "box",
      domainname: "example.org",
      hooks: {
        prestart: [{ path: "/usr/bin/fix-mounts", args: ["fix-mounts", "arg1"], env: ["KEY=value"] }],
        createRuntime: [{ path: "/usr/bin/netns", timeout: 5 }],
        createContainer: [{ path: "/bin/true" }],
        startContainer: [{ path: "/bin/refresh-ldcache" }],
        poststart: [{ path: "/usr/bin/notify-start", timeout: 5 }],
        poststop: [{ path: "/usr/sbin/cleanup.sh", args: ["cleanup.sh", "-f"] }],
      },
      annotations: { "com.example.key1": "value1", "org.opencontainers.image.os": "linux" },
      linux: {
        namespaces: ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"].map((type) => ({ type })),
        uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
        timeOffsets: { monotonic: { secs: -3600, nanosecs: 0 }, boottime: { secs: 172800, nanosecs: 500 } },
        devices: [
          { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
          { path: "/dev/sda", type: "b", major: 8, minor: 0 },
          { path: "/dev/fifo", type: "p" },
        ],
        netDevices: { eth1: { name: "eth0" }, ens4: {} },
        cgroupsPath: "/myRuntime/myContainer",
        resources: {
          devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 229, access: "rw" }],
          memory: { limit: 536870912, reservation: 268435456, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0,
            disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
          cpu: { shares: 1024, quota: -1, burst: 1000, period: 100000, realtimeRuntime: 950000, realtimePeriod: 1000000,
            cpus: "2-3", mems: "0-7", idle: 0 },
          pids: { limit: -1 },
          blockIO: {
            weight: 10, leafWeight: 10,
            weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }, { major: 8, minor: 16, weight: 500 }],
            throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
            throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: big }],
            throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 300 }],
            throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 300 }],
          },
          hugepageLimits: [{ pageSize: "2MB", limit: 209715200 }, { pageSize: "64KB", limit: 1000000 }],
          network: { classID: 1048577, priorities: [{ name: "eth0", priority: 500 }] },
          rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 } },
          unified: { "io.weight": "10", "memory.high": "max" },
        },
        intelRdt: { closID: "guaranteed_group", l3CacheSchema: "L3:0=7f0;1=1f", memBwSchema: "MB:0=20;1=70",
          schemata: ["L2:0=ff"], enableMonitoring: true, enableCMT: true, enableMBM: false },
        memoryPolicy: { mode: "MPOL_INTERLEAVE", nodes: "0-3", flags: ["MPOL_F_STATIC_NODES"] },
        sysctl: { "net.ipv4.ip_forward": "1", "net.core.somaxconn": "256" },
        seccomp: {
          defaultAction: "SCMP_ACT_ERRNO",
          defaultErrnoRet: 1,
          architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          flags: ["SECCOMP_FILTER_FLAG_LOG"],
          listenerPath: "/run/seccomp-agent.socket",
          listenerMetadata: "metadata",
          syscalls: [
            { names: ["getcwd", "chmod"], action: "SCMP_ACT_ALLOW" },
            { names: ["personality"], action: "SCMP_ACT_ALLOW", errnoRet: 0,
              args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }, { index: 1, value: big, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
          ],
        },
        rootfsPropagation: "rslave",
        maskedPaths: ["/proc/kcore"],
        readonlyPaths: ["/proc/sys"],
        mountLabel: "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        personality: { domain: "LINUX32", flags: [] },
      },
    };
    expect(parseConfig(c) as unknown).toEqual(c);
  });
});

describe("rejects, with one line naming the field", () => {
  test("missing ociVersion", () => {
    const c = minimal();
    delete c.ociVersion;
    expect(errorOf(c)).toBe("config.json: ociVersion: is required");
  });

  test("empty process.args", () => {
    const c = minimal();
    c.process.args = [];
    expect(errorOf(c)).toBe("config.json: process.args: expected a non-empty array of strings");
  });

  test("process.args that are not strings", () => {
    const c = minimal();
    c.process.args = ["sh", 1];
    expect(errorOf(c)).toBe("config.json: process.args: expected a non-empty array of strings");
    c.process.args = "sh";
    expect(errorOf(c)).toBe("config.json: process.args: expected a non-empty array of strings");
  });

  test("relative mount destination", () => {
    const c = minimal();
    c.mounts[0].destination = "proc";
    expect(errorOf(c)).toBe('config.json: mounts[0].destination: expected an absolute path, got "proc"');
  });

  test("unknown namespace type", () => {
    const c = minimal();
    c.linux.namespaces[2].type = "foo";
    expect(errorOf(c)).toBe(
      'config.json: linux.namespaces[2].type: expected one of pid, network, mount, ipc, uts, user, cgroup, time, got "foo"',
    );
  });

  test("duplicate namespace", () => {
    const c = minimal();
    c.linux.namespaces.push({ type: "pid", path: "/proc/1/ns/pid" });
    expect(errorOf(c)).toBe('config.json: linux.namespaces: duplicate namespace type "pid"');
  });

  test("rlimit with a bad type", () => {
    const c = minimal();
    c.process.rlimits = [{ type: "nofile", soft: 1, hard: 1 }];
    expect(errorOf(c)).toBe(
      'config.json: process.rlimits[0].type: expected an rlimit name like "RLIMIT_NOFILE", got "nofile"',
    );
  });

  test("negative uid", () => {
    const c = minimal();
    c.process.user.uid = -1;
    expect(errorOf(c)).toBe("config.json: process.user.uid: expected an integer from 0 to 4294967295, got -1");
  });

  test("other mistakes", () => {
    const cases: [(c: any) => void, string][] = [
      [(c) => (c.process.cwd = "home"), 'config.json: process.cwd: expected an absolute path, got "home"'],
      [(c) => delete c.process.cwd, "config.json: process.cwd: is required"],
      [(c) => (c.root = {}), "config.json: root.path: is required"],
      [(c) => (c.root = []), "config.json: root: expected an object, got an array"],
      [(c) => (c.process = null), "config.json: process: expected an object, got null"],
      [(c) => (c.process.user.gid = 1.5), "config.json: process.user.gid: expected an integer from 0 to 4294967295, got 1.5"],
      [(c) => (c.process.oomScoreAdj = 1001), "config.json: process.oomScoreAdj: expected an integer from -1000 to 1000, got 1001"],
      [(c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: -1, hard: 1 }]), "config.json: process.rlimits[0].soft: expected a non-negative integer, got -1"],
      [(c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }, { type: "RLIMIT_NOFILE", soft: 2, hard: 2 }]), 'config.json: process.rlimits: duplicate rlimit type "RLIMIT_NOFILE"'],
      [(c) => (c.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }), "config.json: hooks.poststop[0].timeout: expected a positive integer, got 0"],
      [(c) => (c.annotations = { a: 1 }), "config.json: annotations.a: expected a string, got 1"],
      [(c) => (c.linux.sysctl = { "net.ipv4.ip_forward": 1 }), 'config.json: linux.sysctl["net.ipv4.ip_forward"]: expected a string, got 1'],
      [(c) => (c.linux.namespaces[0].path = "ns/pid"), 'config.json: linux.namespaces[0].path: expected an absolute path, got "ns/pid"'],
      [(c) => (c.linux.rootfsPropagation = "rshare"), 'config.json: linux.rootfsPropagation: expected one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable, got "rshare"'],
      [(c) => (c.linux.devices = [{ type: "c", path: "/dev/x", minor: 1 }]), 'config.json: linux.devices[0].major: is required unless type is "p"'],
      [(c) => (c.linux.resources = { devices: [{ access: "rwm" }] }), "config.json: linux.resources.devices[0].allow: is required"],
      [(c) => (c.linux.resources = { memory: { limit: "1G" } }), 'config.json: linux.resources.memory.limit: expected an integer, got "1G"'],
      [(c) => (c.linux.resources = { hugepageLimits: [{ pageSize: "64kB", limit: 1 }] }), 'config.json: linux.resources.hugepageLimits[0].pageSize: expected a page size like "2MB", got "64kB"'],
      [(c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] }), "config.json: linux.seccomp.syscalls[0].names: expected a non-empty array of strings"],
      [(c) => (c.linux.seccomp = { defaultAction: "ALLOW" }), 'config.json: linux.seccomp.defaultAction: expected a seccomp action like "SCMP_ACT_ERRNO", got "ALLOW"'],
      [(c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "m" }), "config.json: linux.seccomp.listenerMetadata: requires listenerPath"],
      [(c) => (c.windows = "yes"), 'config.json: windows: expected an object, got "yes"'],
    ];
    for (const [mutate, message] of cases) {
      const c = minimal();
      mutate(c);
      expect(errorOf(c)).toBe(message);
    }
  });

  test("a config.json that is not an object", () => {
    expect(errorOf(null)).toBe("config.json: expected an object, got null");
    expect(errorOf([])).toBe("config.json: expected an object, got an array");
    expect(errorOf(undefined)).toBe("config.json: expected a JSON object");
  });

  test("invalid JSON", () => {
    expect(() => parseConfigText("{ ociVersion: 1 }")).toThrow(/^config\.json: invalid JSON: \S/);
    expect(() => parseConfigText("")).toThrow(/^config\.json: invalid JSON: \S/);
    try {
      parseConfigText("{");
    } catch (e) {
      expect(e).toBeInstanceOf(BuncError);
      expect((e as BuncError).code).toBe("CONFIG");
    }
  });
});
