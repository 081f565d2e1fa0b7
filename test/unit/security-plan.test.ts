/** The pure parts of issue 3: seccomp plans, sysctl checks, capability dropping, scheduler operands, op order. */
import { describe, expect, test } from "bun:test";
import { compile, type CompileInput } from "../../src/plan/compile";
import { Op } from "../../src/plan/program";
import { cpuMask, ioprioValue, personaValue, schedAttr } from "../../src/plan/sched";
import { actionValue, planSeccomp } from "../../src/plan/seccomp";
import { planSysctl, sysctlNamespace } from "../../src/plan/sysctl";

describe("planSeccomp", () => {
  test("actions with errnoRet; EPERM by default", () => {
    expect(actionValue("SCMP_ACT_ERRNO", undefined, "x")).toBe(0x00050001);
    expect(actionValue("SCMP_ACT_ERRNO", 38, "x")).toBe(0x00050026);
    expect(actionValue("SCMP_ACT_TRACE", 5, "x")).toBe(0x7ff00005);
    expect(actionValue("SCMP_ACT_KILL_PROCESS", undefined, "x")).toBe(0x80000000);
    expect(() => actionValue("SCMP_ACT_ALLOW", 1, "linux.seccomp.syscalls[0]")).toThrow("errnoRet is only valid");
  });

  test("rules: one per name; a rule with the default action is dropped; conditions on one argument split", () => {
    const p = planSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
        { names: ["umask"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_GE" }, { index: 0, value: 7, op: "SCMP_CMP_LE" }] },
        { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 0xff, valueTwo: 9, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    });
    expect(p.rules.map((r) => [r.name, r.conditions.length])).toEqual([["read", 0], ["write", 0], ["umask", 1], ["umask", 1], ["kill", 2]]);
    expect(p.rules[4]!.conditions[1]).toEqual({ index: 1, op: 7, a: 0xffn, b: 9n });
  });

  test("flags: TSYNC accepted and not passed; WAIT_KILLABLE_RECV only with a listener; NOTIFY adds NEW_LISTENER", () => {
    expect(planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }).flags).toBe(2);
    const n = planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], syscalls: [{ names: ["mknod"], action: "SCMP_ACT_NOTIFY" }] });
    expect(n.flags).toBe(8 | 32);
    expect(n.listener).toBe(true);
  });

  test("bad input", () => {
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_NOTIFY" })).toThrow("cannot be the default action");
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mknod"], action: "SCMP_ACT_NOTIFY" }] })).toThrow("needs listenerPath");
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", syscalls: [{ names: ["write"], action: "SCMP_ACT_NOTIFY" }] })).toThrow("SCMP_ACT_NOTIFY cannot be used for the write syscall");
    // A rootless bunc's child sends the listener fd with sendmsg; a root bunc takes it with pidfd_getfd.
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] })).toThrow("SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall");
    expect(planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] }, { fetchListener: true }).listener).toBe(true);
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", syscalls: [{ names: ["write"], action: "SCMP_ACT_NOTIFY" }] }, { fetchListener: true })).toThrow("SCMP_ACT_NOTIFY cannot be used for the write syscall");
    expect(planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", syscalls: [{ names: ["read", "close"], action: "SCMP_ACT_NOTIFY" }] }).listener).toBe(true);
    expect(() => planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }] })).toThrow("6 arguments");
  });

  test("architectures as libseccomp names them", () => {
    expect(planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] }).architectures).toEqual(["x86_64", "x32"]);
  });
});

describe("sysctl", () => {
  test("namespaces of keys", () => {
    expect(sysctlNamespace("kernel.shmmax")).toBe("ipc");
    expect(sysctlNamespace("fs.mqueue.msg_max")).toBe("ipc");
    expect(sysctlNamespace("net.ipv4.ip_forward")).toBe("network");
    expect(sysctlNamespace("kernel.domainname")).toBe("uts");
    expect(sysctlNamespace("kernel.panic")).toBeUndefined();
    expect(sysctlNamespace("vm.swappiness")).toBeUndefined();
  });

  test("paths under /proc/sys; slash form kept; refusals name the reason", () => {
    expect(planSysctl({ "net.ipv4.ip_forward": "1", "net/ipv4/conf/eth0.100/forwarding": "1" }, new Set(["network"]))).toEqual([
      ["net/ipv4/ip_forward", "1"],
      ["net/ipv4/conf/eth0.100/forwarding", "1"],
    ]);
    expect(() => planSysctl({ "kernel.shmmax": "1" }, new Set(["network"]))).toThrow("needs a ipc namespace");
    expect(() => planSysctl({ "kernel.panic": "1" }, new Set(["ipc"]))).toThrow("not a namespaced sysctl");
    expect(() => planSysctl({ "net/../kernel/panic": "1" }, new Set(["network"]))).toThrow("not a valid sysctl name");
  });

  test("net.* in a network namespace joined by path that is bunc's own: refused; other keys unaffected", () => {
    expect(() => planSysctl({ "net.ipv4.ip_forward": "1" }, new Set(["network"]), true)).toThrow("not allowed in the host's network namespace");
    expect(planSysctl({ "net.ipv4.ip_forward": "1" }, new Set(["network"]), false)).toEqual([["net/ipv4/ip_forward", "1"]]);
    expect(planSysctl({ "kernel.shmmax": "1" }, new Set(["ipc", "network"]), true)).toEqual([["kernel/shmmax", "1"]]);
  });
});

describe("scheduler, ioPriority, personality, CPU masks", () => {
  test("operands", () => {
    const a = new DataView(schedAttr({ policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] }).buffer);
    expect([a.getUint32(0, true), a.getUint32(4, true), Number(a.getBigUint64(8, true)), a.getUint32(20, true)]).toEqual([48, 1, 1, 10]);
    expect(ioprioValue({ class: "IOPRIO_CLASS_BE", priority: 6 })).toBe((2 << 13) | 6);
    expect(personaValue({ domain: "LINUX32" })).toBe(8);
    expect(() => personaValue({ domain: "LINUX", flags: ["X"] })).toThrow("no flags");
    expect([...cpuMask("0-2,9", "x")]).toEqual([0b111, 0b10, 0, 0, 0, 0, 0, 0]);
    expect(() => cpuMask("3-1", "process.execCPUAffinity.final")).toThrow("invalid CPU list");
  });
});

describe("compile: where the new operations go", () => {
  const spec = (edit: (s: any) => void = () => {}) => {
    const s: any = {
      ociVersion: "1.0.2",
      process: { args: ["sh"], cwd: "/", noNewPrivileges: true, capabilities: { bounding: ["CAP_KILL", "CAP_CHECKPOINT_RESTORE"], effective: ["CAP_CHECKPOINT_RESTORE"], permitted: ["CAP_KILL", "CAP_CHECKPOINT_RESTORE"] } },
      root: { path: "rootfs" },
      mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
      linux: { namespaces: [{ type: "mount" }, { type: "ipc" }], maskedPaths: ["/proc/kcore"], sysctl: { "kernel.shmmax": "1" } },
    };
    edit(s);
    return s;
  };
  const input = (s: any, more: Partial<CompileInput> = {}): CompileInput => ({
    spec: s, rootfs: "/b/rootfs", bundle: "/b", joined: new Map(), preserveFds: 0, noPivot: false, cgroupBinds: [],
    isDirectory: () => true, home: "/root", id: "c", noNewKeyring: false, ...more,
  });
  const seccomp = { bpf: new Uint8Array(16), flags: 0, listener: false };
  const codes = (s: any, more?: Partial<CompileInput>) => compile(input(s, more)).ops.map((o) => o.code);

  test("sysctl before masks; seccomp right before READY with no_new_privs", () => {
    const c = codes(spec(), { seccomp });
    expect(c.indexOf(Op.SYSCTL)).toBeLessThan(c.indexOf(Op.MASK));
    expect(c.indexOf(Op.SECCOMP)).toBe(c.indexOf(Op.READY) - 1);
    expect(c.indexOf(Op.SECCOMP)).toBeGreaterThan(c.indexOf(Op.NO_NEW_PRIVS));
  });

  test("without no_new_privs, seccomp before the capabilities are dropped", () => {
    const c = codes(spec((s) => (s.process.noNewPrivileges = false)), { seccomp });
    expect(c.indexOf(Op.SECCOMP)).toBeLessThan(c.indexOf(Op.CAPBSET));
  });

  test("umask, the fd marking and the stdio owner come before the filter in both orders: a profile may refuse their syscalls", () => {
    for (const nnp of [true, false]) {
      const c = codes(spec((s) => (s.process.noNewPrivileges = nnp)), { seccomp });
      for (const op of [Op.UMASK, Op.CLOSE_FDS, Op.STDIO_OWNER]) expect({ nnp, op, before: c.indexOf(op) < c.indexOf(Op.SECCOMP) }).toEqual({ nnp, op, before: true });
    }
  });

  test("the pty's ONLCR is cleared only when bunc relays the terminal itself", () => {
    const tty = spec((s) => (s.process.terminal = true));
    const consoleOf = (more: Partial<CompileInput>) => compile(input(tty, { consoleFd: 9, ...more })).ops.find((o) => o.code === Op.CONSOLE)!.n;
    expect(consoleOf({})).toEqual([0, 0, 1, 0]);
    expect(consoleOf({ consoleRelayed: true })).toEqual([0, 0, 1, 1]);
  });

  test("hooks: the HOOKS sync and createContainer before pivot_root, startContainer between the fifo and exec", () => {
    const hooks = { parentSync: true, createContainer: [{ path: "/h" }], startContainer: [{ path: "/s", args: ["s", "1"], timeout: 3 }], createStateFd: 7, startStateFd: 8 };
    const plan = compile(input(spec(), { hooks, fifo: { dirFd: 5, name: "exec.fifo" } }));
    const c = plan.ops.map((o) => o.code);
    const hookOps = plan.ops.filter((o) => o.code === Op.HOOK);
    expect(c.indexOf(Op.HOOK)).toBeLessThan(c.indexOf(Op.PIVOT_ROOT));
    expect(c.lastIndexOf(Op.HOOK)).toBe(c.indexOf(Op.EXEC) - 1);
    expect(c.lastIndexOf(Op.HOOK)).toBeGreaterThan(c.indexOf(Op.FIFO_WAIT));
    expect(hookOps.map((o) => o.fd)).toEqual([7, 8]);
    expect(hookOps[1]!.n!.slice(0, 3)).toEqual([{ strings: ["s", "1"] }, { strings: [] }, 3]);
    expect(hookOps[0]!.n![0]).toEqual({ strings: ["/h"] });
    // A failing startContainer hook says why on stderr, in runc's words: the executor picks the signal's text.
    expect(hookOps[1]!.s).toEqual(["/s", 'bunc: startContainer hook "/s" failed (error running hook: ', "): the container stops\n"]);
    expect((hookOps[1]!.n![3] as { strings: string[] }).strings[30]).toBe("signal: bad system call");
    expect(hookOps[0]!.n![3]).toBe(0); // createContainer fails while create waits: the parent says why
  });

  test("capabilities above cap_last_cap are dropped with one warning", () => {
    const plan = compile(input(spec(), { lastCap: 39 }));
    expect(plan.warnings).toEqual(["capability CAP_CHECKPOINT_RESTORE is unknown to this kernel (its last is 39): dropped from the container's sets"]);
    const capset = plan.ops.find((o) => o.code === Op.CAPSET)!;
    expect(capset.n![0]).toBe(0n);
    expect(capset.n![1]).toBe(1n << 5n);
    expect(plan.ops.find((o) => o.code === Op.CAPBSET)!.n![0]).toBe(1n << 5n);
    expect(compile(input(spec(), { lastCap: 40 })).warnings).toEqual([]);
  });
});
