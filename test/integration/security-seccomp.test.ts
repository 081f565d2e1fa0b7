/**
 * linux.seccomp on the compiled binary, read from inside the container
 * (/proc/self/status, a syscall's errno, the exit signal), with the same
 * config under runc where it is installed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { BUNC, integrationSkipReason, RUNC, Sandbox, sh } from "../harness";
import { both, buncRun, runcRun, show, type Edit } from "./container-helpers";
import { PODMAN_DEFAULT_CAPS, PODMAN_PROFILE, podmanProfile } from "./seccomp-profiles";

const skip = integrationSkipReason();
if (skip) console.log(`skip security-seccomp: ${skip}`);
const sb = new Sandbox();
afterAll(() => sb.cleanup());


const withSeccomp = (seccomp: Record<string, unknown>, more?: Edit): Edit => (c) => {
  c.linux.seccomp = seccomp;
  more?.(c);
};

function expectSame(r: ReturnType<typeof both>, stdout: string, code = 0) {
  expect(r.bunc.code, r.why).toBe(code);
  expect(r.bunc.stdout, r.why).toBe(stdout);
  if (r.runc) {
    expect(r.runc.code, r.why).toBe(code);
    expect(r.runc.stdout, r.why).toBe(stdout);
  }
}

describe.skipIf(!!skip)("seccomp", () => {
  test("the filter is loaded: Seccomp 2 in /proc/self/status, with no_new_privs", () => {
    const r = both(sb, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status", withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] }));
    expectSame(r, "NoNewPrivs:\t1\nSeccomp:\t2\n");
  });

  test.skipIf(!existsSync(PODMAN_PROFILE))("podman's default profile: a denied syscall returns EPERM", () => {
    // CAP_SYS_ADMIN is granted, but the profile is podman's for the default set, which denies sethostname.
    const caps = [...PODMAN_DEFAULT_CAPS, "CAP_SYS_ADMIN"];
    const grant: Edit = (c) => {
      for (const set of ["bounding", "effective", "permitted"]) c.process.capabilities[set] = caps;
    };
    const script = "hostname inside 2>&1; echo status=$?; echo ok";
    const control = buncRun(sb, script, grant);
    expect(control.stdout, show(control)).toBe("status=0\nok\n");
    const r = both(sb, script, withSeccomp(podmanProfile(PODMAN_DEFAULT_CAPS), grant));
    expectSame(r, "hostname: sethostname: Operation not permitted\nstatus=1\nok\n");
  });

  test("SCMP_ACT_KILL: the process dies with SIGSYS", () => {
    const r = both(sb, "echo before; exec mkdir /tmp/x", withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] }));
    expectSame(r, "before\n", 128 + 31);
  });

  test("errnoRet and defaultErrnoRet", () => {
    const r = both(sb, "mkdir /tmp/x 2>&1; touch /tmp/y 2>&1; echo done", withSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 }, { names: ["utimensat"], action: "SCMP_ACT_ERRNO" }],
    }));
    expectSame(r, "mkdir: can't create directory '/tmp/x': No space left on device\ntouch: /tmp/y: Operation not permitted\ndone\n");
  });

  test("argument conditions: EQ, MASKED_EQ, and two conditions on one argument", () => {
    const O_CREAT = 0o100;
    const r = both(sb, "kill -0 $$ && echo kill0; kill -CONT $$ && echo cont; grep -q root /etc/passwd && echo read; echo x > /tmp/new 2>/dev/null || echo nocreate; umask 077; echo umask=$?", withSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 18, op: "SCMP_CMP_EQ" }] },
        { names: ["open", "openat"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, value: O_CREAT, valueTwo: O_CREAT, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["umask"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_GE" }, { index: 0, value: 0o777, op: "SCMP_CMP_LE" }] },
      ],
    }));
    expect(r.bunc.stdout, r.why).toBe("kill0\nread\nnocreate\numask=0\n");
    if (r.runc) expect(r.runc.stdout, r.why).toBe(r.bunc.stdout);
  });

  test("noNewPrivileges false: the filter is loaded before the capabilities are dropped, the user switched", () => {
    const r = both(sb, "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; id -u; mkdir /tmp/x 2>/dev/null || echo denied", withSeccomp(
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] },
      (c) => {
        c.process.noNewPrivileges = false;
        c.process.user = { uid: 1000, gid: 1000 };
      },
    ));
    expectSame(r, "CapEff:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t2\n1000\ndenied\n");
  });

  test("flags LOG and SPEC_ALLOW are passed to seccomp(2); TSYNC is accepted", () => {
    const r = both(sb, "grep -E '^Seccomp:' /proc/self/status; grep -E '^Speculation_Store_Bypass' /proc/self/status | grep -c 'force mitigated'", withSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }],
    }));
    // SPEC_ALLOW: no forced speculative store bypass mitigation.
    expect(r.bunc.stdout, r.why).toBe("Seccomp:\t2\n0\n");
  });

  test("an unknown syscall name is a warning, not an error", () => {
    const r = buncRun(sb, "echo ran", withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["no_such_syscall", "mkdir"], action: "SCMP_ACT_ERRNO" }] }));
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("ran\n");
    expect(r.stderr).toBe('bunc: warning: seccomp: unknown syscall "no_such_syscall" ignored\n');
  });

  test("exec applies the container's filter to its process too", () => {
    const id = sb.id();
    const bundle = sb.bundle(["sleep", "60"], withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] }));
    expect(sb.bunc(["run", "-d", "-b", bundle, id]).code).toBe(0);
    const r = sb.bunc(["exec", id, "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/x 2>/dev/null || echo denied"]);
    expect(r.stdout, show(r)).toBe("Seccomp:\t2\ndenied\n");
  });

  test.skipIf(!Bun.which("python3"))("SCMP_ACT_NOTIFY: the listener gets the notify fd with the container's state", async () => {
    const sock = `${sb.dir}/agent.sock`;
    const py = [
      "import socket, json, sys",
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)",
      "c, _ = s.accept()",
      "msg, fds, _, _ = socket.recv_fds(c, 65536, 4)",
      "d = json.loads(msg)",
      "print(d['fds'], d['metadata'], d['state']['status'], d['pid'] == d['state']['pid'], len(fds))",
    ].join("\n");
    const agent = Bun.spawn(["python3", "-c", py, sock], { stdout: "pipe" });
    for (let i = 0; i < 100 && !existsSync(sock); i++) Bun.sleepSync(20);
    const r = buncRun(sb, "true", withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, listenerMetadata: "meta", syscalls: [{ names: ["mknodat"], action: "SCMP_ACT_NOTIFY" }] }));
    expect(r.code, show(r)).toBe(0);
    expect(await new Response(agent.stdout).text()).toBe("['seccompFd'] meta creating True 1\n");
  });

  test.skipIf(!existsSync(PODMAN_PROFILE) || !Bun.which("gcc"))("ENOSYS for syscalls newer than the profile: EPERM default, only old syscalls listed", () => {
    // A static probe that makes raw syscalls by number and prints the errno's name.
    const src = `${sb.dir}/probe.c`;
    writeFileSync(src, [
      "#define _GNU_SOURCE",
      "#include <errno.h>",
      "#include <stdio.h>",
      "#include <stdlib.h>",
      "#include <string.h>",
      "#include <unistd.h>",
      "int main(int argc, char **argv) {",
      "  for (int i = 1; i < argc; i++) {",
      "    long nr = atol(argv[i]);",
      "    long r = syscall(nr, 0, 0, 0, 0, 0, 0);",
      '    printf("%ld:%s\\n", nr, r == -1 ? strerrorname_np(errno) : "ok");',
      "  }",
      "  return 0;",
      "}",
    ].join("\n"));
    const built = sh(["gcc", "-static", "-O2", "-o", `${sb.dir}/probe`, src]);
    expect(built.code, show(built)).toBe(0);
    // podman's allow list without any syscall numbered 424 or above on x86_64 (a profile from before pidfd_send_signal).
    const scmp = dlopen("libseccomp.so.2", { seccomp_syscall_resolve_name_arch: { args: ["u32", "ptr"], returns: "i32" } }).symbols;
    const nr = (name: string) => scmp.seccomp_syscall_resolve_name_arch(0xc000003e, Buffer.from(name + "\0"));
    const allowed = (podmanProfile(PODMAN_DEFAULT_CAPS).syscalls as any[])
      .filter((r) => r.action === "SCMP_ACT_ALLOW" && r.args.length === 0)
      .flatMap((r) => r.names as string[])
      .filter((n) => nr(n) >= 0 && nr(n) < 424 && n !== "mount");
    expect(Math.max(...allowed.map(nr))).toBeLessThan(424);
    expect(allowed).toContain("umount2"); // 166: mount (165) is below the highest listed
    const seccomp = { defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: allowed, action: "SCMP_ACT_ALLOW" }] };
    const prepare = (bundle: string) => copyFileSync(`${sb.dir}/probe`, `${bundle}/rootfs/bin/probe`);
    // clone3 (435), faccessat2 (439), a number no kernel has yet: ENOSYS; mount (165), below the highest and not listed: the default EPERM.
    const r = both(sb, "probe 435 439 1000 165", withSeccomp(seccomp), { prepare });
    expectSame(r, "435:ENOSYS\n439:ENOSYS\n1000:ENOSYS\n165:EPERM\n");
    // With SCMP_ACT_ALLOW there is no stub: clone3 reaches the kernel, which refuses its size 0 with EINVAL.
    const allow = both(sb, "probe 435 1000", withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] }), { prepare });
    expectSame(allow, "435:EINVAL\n1000:ENOSYS\n");
  });

  /** Run script with syscall notified to a python listener (py, given the socket path); returns the run and what the listener printed. */
  async function withListener(runtime: "bunc" | "runc", py: string, syscall: string, script: string) {
    const sock = `${sb.dir}/agent-${syscall}-${runtime}.sock`;
    const agent = Bun.spawn(["python3", "-c", py, sock], { stdout: "pipe" });
    for (let i = 0; i < 100 && !existsSync(sock); i++) Bun.sleepSync(20);
    const edit = withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, syscalls: [{ names: [syscall], action: "SCMP_ACT_NOTIFY" }] });
    const r = runtime === "bunc" ? buncRun(sb, script, edit) : runcRun(sb, script, edit);
    return { r, agent: (await new Response(agent.stdout).text()).trim() };
  }

  test.skipIf(!Bun.which("python3"))("SCMP_ACT_NOTIFY on sendmsg (allowed to a root bunc, as runc: it takes the listener fd with pidfd_getfd)", async () => {
    // The same CONTINUE-everything agent as below; the point is that nothing hangs and the fd arrives.
    const py = [
      "import socket, sys",
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)",
      "c, _ = s.accept()",
      "msg, fds, _, _ = socket.recv_fds(c, 65536, 4)",
      "print(len(fds))",
    ].join("\n");
    const run = (runtime: "bunc" | "runc") => withListener(runtime, py, "sendmsg", "echo ran");
    const b = await run("bunc");
    expect(b.r.stdout, show(b.r)).toBe("ran\n");
    expect(b.r.code).toBe(0);
    expect(b.agent).toBe("1");
    if (RUNC) {
      const r = await run("runc");
      expect(r.r.stdout, show(r.r)).toBe("ran\n");
      expect(r.agent).toBe("1");
    }
  });

  test.skipIf(!Bun.which("setpriv"))("a bunc without CAP_SYS_PTRACE (it could not pidfd_getfd the listener fd) refuses SCMP_ACT_NOTIFY on sendmsg before anything exists", () => {
    const id = sb.id();
    const bundle = sb.bundle(["true"], withSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: `${sb.dir}/nobody.sock`, syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] }));
    const r = sh(["setpriv", "--bounding-set=-sys_ptrace", BUNC, "--root", sb.root, "run", "-b", bundle, id]);
    expect(r.stderr, show(r)).toContain("SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall");
    expect(r.code).toBe(1);
    expect(existsSync(`${sb.root}/${id}`)).toBe(false);
  });

  test.skipIf(!Bun.which("python3"))("SCMP_ACT_NOTIFY on read (allowed, as runc): a listener that lets every call continue sees the container's reads", async () => {
    // seccomp_unotify(2): RECV a struct seccomp_notif (80 bytes), SEND a seccomp_notif_resp with FLAG_CONTINUE.
    const py = [
      "import socket, sys, fcntl, struct, os",
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)",
      "c, _ = s.accept()",
      "msg, fds, _, _ = socket.recv_fds(c, 65536, 4)",
      "fd = fds[0]; n = 0",
      "while True:",
      "    buf = bytearray(80)",
      "    try: fcntl.ioctl(fd, 0xc0502100, buf)",
      "    except OSError: break",
      "    nid = struct.unpack_from('Q', buf, 0)[0]",
      "    try: fcntl.ioctl(fd, 0xc0182101, struct.pack('QqiI', nid, 0, 0, 1))",
      "    except OSError: pass",
      "    n += 1",
      "print('notified' if n > 0 else 'none')",
    ].join("\n");
    const run = (runtime: "bunc" | "runc") => withListener(runtime, py, "read", "cat /etc/passwd | head -1");
    const b = await run("bunc");
    expect(b.r.code, show(b.r)).toBe(0);
    expect(b.r.stdout).toBe("root:x:0:0:root:/root:/bin/sh\n");
    expect(b.agent).toBe("notified");
    if (RUNC) {
      const r = await run("runc");
      expect(r.r.stdout, show(r.r)).toBe(b.r.stdout);
      expect(r.agent).toBe("notified");
    }
  });

  for (const [what, seccomp, msg] of [
    ["an architecture libseccomp does not know", { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_LOONGARCH64"] }, "SCMP_ARCH_LOONGARCH64 is not supported"],
    ["errnoRet on SCMP_ACT_KILL", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL", errnoRet: 1 }] }, "errnoRet is only valid"],
    ["SCMP_ACT_NOTIFY without listenerPath", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }, "needs listenerPath"],
    ["SCMP_ACT_NOTIFY as the default action", { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/x" }, "cannot be the default action"],
  ] as const) {
    test(`bad input: ${what} is one clear error and leaves nothing behind`, () => {
      const id = sb.id();
      const r = sb.bunc(["run", "-b", sb.bundle(["true"], withSeccomp(seccomp as Record<string, unknown>)), id]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(msg);
      expect(existsSync(`${sb.root}/${id}`)).toBe(false);
    });
  }
});
