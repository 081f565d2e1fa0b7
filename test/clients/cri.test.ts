/**
 * Pods through containerd's CRI plugin, as the kubelet makes them: a private
 * containerd with the CRI plugin and two runtime handlers, `bunc` (the runc
 * shim with BinaryName = dist/bunc) and `runc`, driven over gRPC with the CRI
 * v1 API. Each scenario runs once per handler (side by side: same states, exit
 * codes, reasons, logs), and after each, nothing of it may be left: no cgroup
 * below the pod's cgroup_parent in any hierarchy, no mount below the daemon's
 * dirs, no shim or container process, no runtime state, no pinned network
 * namespace or CNI result. The daemon runs in a network namespace of its own,
 * where CNI's bridge gives pods their network (see cniConfig in cri.ts).
 *
 * The cgroup driver is cgroupfs (SystemdCgroup = false). BUNC_CRI_SYSTEMD=1 adds
 * the same scenarios with SystemdCgroup = true (cgroup_parent a slice), for a host
 * where systemd runs and bunc has its systemd driver.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { cgroupHierarchies, REPO } from "../harness";
import { cniConfig, cniSkipReason, criApiProto, CriClient, criConfig, CRI_IMAGE, handlers, imageArchive, parseCriLog, runtimeHandlerConfig, type Handler } from "./cri";
import { check, Containerd, ensureCommands, Report, sh, sideBySide, type Runtime } from "./setup";

const SYSTEMD_DRIVERS = process.env.BUNC_CRI_SYSTEMD === "1" ? [false, true] : [false];

let skip = ensureCommands(["containerd", "ctr"]) ?? cniSkipReason();
const api = skip ? undefined : criApiProto();
if (!skip && api && "skip" in api) skip = api.skip;
if (skip) console.log(`skip CRI client tests: ${skip}`);

type Message = Record<string, any>;
interface PodOptions {
  /** POD (default, as the kubelet's): the pod's own network namespace, from CNI; NODE: the daemon's. */
  network?: "POD" | "NODE";
  pid?: "POD" | "CONTAINER";
  privileged?: boolean;
}
/** The kubelet's masked and read-only paths for a container that is not privileged (not all exist on every kernel). */
const MASKED_PATHS = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"];
const READONLY_PATHS = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
const text = (b: unknown) => Buffer.from((b as Uint8Array) ?? []).toString("utf8");

/** The name of the block device / is on (/dev/vda here): a privileged container has the host's /dev. */
function rootDevice(): string {
  const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === "/");
  return line?.split(" - ")[1]?.split(" ")[1]?.replace(/^\/dev\//, "") ?? "null";
}

/** A device outside the default allow list (not null, zero, full, random, tty…) that reads without error. */
const DEVICE = ["/dev/loop0", "/dev/loop1", "/dev/loop2"].find((d) => existsSync(d)) ?? "/dev/loop0";

/** The network namespaces containerd's CRI pins (it names them cni-UUID in /run/netns). */
function pinnedNetns(): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("cni-")).map((n) => `/run/netns/${n}`) : [];
}

/** Poll until cond returns a value (not undefined), or throw after timeoutMs naming what was awaited. */
async function waitFor<T>(what: string, cond: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test("README shows the runtime handler config these tests give containerd", () => {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const block = runtimeHandlerConfig({ name: "bunc", binary: "/usr/local/bin/bunc", systemdCgroup: false }).map((l) => `    ${l}`).join("\n");
  expect(readme).toContain(block);
});

for (const systemdCgroup of SYSTEMD_DRIVERS) {
  const driver = systemdCgroup ? "systemd" : "cgroupfs";
  const driverSkip = skip ?? (systemdCgroup && !existsSync("/run/systemd/system") ? "SystemdCgroup = true needs systemd running (no /run/systemd/system)" : undefined);
  if (driverSkip && !skip) console.log(`skip CRI client tests with the ${driver} driver: ${driverSkip}`);

  describe.skipIf(Boolean(driverSkip))(`CRI pods with bunc and runc as runtime handlers (${driver} cgroup driver)`, () => {
    const report = new Report(`cri/${driver}`);
    let daemon: Containerd;
    let cri: CriClient;
    const hs: Handler[] = handlers(systemdCgroup);
    /** The cgroup_parent top of this file's pods: /bunc-cri-PID (cgroupfs) or bunc_cri_PID.slice (systemd). */
    const top = systemdCgroup ? `bunc_cri_${process.pid}.slice` : `/bunc-cri-${process.pid}`;
    let pods = 0;
    /** The CNI network's name: libcni caches each pod's result in /var/lib/cni under it (checked after each pod). */
    const network = `bunc-test-${process.pid}`;

    /** Host dirs that libcni (its result cache) and containerd (its netns pins) make when missing: removed again if they were. */
    const madeByUs = ["/var/lib/cni/results", "/var/lib/cni", "/run/netns"].filter((d) => !existsSync(d));

    beforeAll(async () => {
      daemon = new Containerd();
      const cni = path.join(daemon.dir, "cni");
      mkdirSync(cni);
      writeFileSync(path.join(cni, "10-bunc-test.conflist"), cniConfig(network, path.join(daemon.dir, "ipam")));
      // Each handler's runtime state (the shim's --root) below the daemon's dir, not in /run/containerd/runc.
      const lines = criConfig(hs, cni);
      for (const h of hs) {
        const at = lines.indexOf(`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h.name}.options]`);
        lines.splice(at + 1, 0, `  Root = "${daemon.dir}/runtime-root/${h.name}"`);
      }
      // Its own network namespace: the CNI bridge and the pods' veths never touch the host's.
      daemon.start(lines, ["unshare", "--net"]);
      const r = daemon.ctr(["--namespace", "k8s.io", "images", "import", imageArchive(daemon.dir)], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`ctr images import: ${r.stderr}`);
      cri = new CriClient((api as { proto: string }).proto, daemon.address);
      const v = await cri.call("Version", { version: "v1" });
      if (v.runtime_api_version !== "v1") throw new Error(`CRI runtime API ${v.runtime_api_version}, want v1`);
    }, 300_000);

    afterAll(async () => {
      report.print();
      try {
        if (cri) for (const p of (await cri.call("ListPodSandbox", {})).items ?? []) await removePod(p.id);
      } finally {
        cri?.close();
        daemon?.stop();
        for (const d of madeByUs) {
          try {
            rmdirSync(d);
          } catch {
            // not empty: something else uses it now
          }
        }
        // The pods' parent is the kubelet's to remove (a slice: systemd's, stopped like the kubelet does).
        if (systemdCgroup) sh(["systemctl", "stop", top]);
        else for (const h of cgroupHierarchies()) if (existsSync(path.join("/sys/fs/cgroup", h, top))) rmdirSync(path.join("/sys/fs/cgroup", h, top));
      }
    }, 120_000);

    async function removePod(id: string): Promise<void> {
      await cri.call("StopPodSandbox", { pod_sandbox_id: id });
      await cri.call("RemovePodSandbox", { pod_sandbox_id: id });
    }

    /** A pod sandbox as the kubelet asks for one: host network, PID and IPC as given, its own cgroup_parent and log directory. */
    class Pod {
      readonly name: string;
      readonly config: Message;
      readonly logDir: string;
      id = "";
      readonly containers: string[] = [];
      readonly network: "POD" | "NODE";
      /** The network namespaces containerd pinned for this pod (/run/netns/cni-…). */
      netns: string[] = [];

      constructor(readonly rt: Runtime, label: string, opts: PodOptions = {}) {
        const n = ++pods;
        this.name = `${label}-${rt}-${n}`;
        this.logDir = path.join(daemon.dir, "pods", this.name);
        mkdirSync(this.logDir, { recursive: true });
        // The kubelet names pod cgroups kubepods/…/pod<uid> (or kubepods-…-pod<uid>.slice): nested below a parent it made.
        this.network = opts.network ?? "POD";
        const parent = systemdCgroup ? `bunc_cri_${process.pid}-${rt}${n}.slice` : `${top}/${rt}-${n}`;
        this.config = {
          metadata: { name: this.name, uid: `uid-${this.name}`, namespace: "bunc-test", attempt: 0 },
          log_directory: this.logDir,
          // The kubelet sets a hostname only where the pod has its own UTS namespace (with its own network).
          ...(this.network === "POD" ? { hostname: this.name } : {}),
          labels: { "bunc-test": label },
          linux: {
            cgroup_parent: parent,
            // The kubelet's one default sysctl (with the pod's own IPC namespace).
            sysctls: { "kernel.shm_rmid_forced": "1" },
            security_context: { namespace_options: { network: this.network, pid: opts.pid ?? "CONTAINER", ipc: "POD" }, privileged: opts.privileged ?? false },
          },
        };
      }

      get cgroupParent(): string {
        return this.config.linux.cgroup_parent;
      }

      /** The pod's cgroup directory below a hierarchy's root: the path, or the slice's as systemd nests it by dashes. */
      get cgroupDir(): string {
        if (!systemdCgroup) return this.cgroupParent;
        const parts = this.cgroupParent.replace(/\.slice$/, "").split("-");
        return parts.map((_, i) => `${parts.slice(0, i + 1).join("-")}.slice`).join("/");
      }

      async run(): Promise<this> {
        const before = new Set(pinnedNetns());
        this.id = (await cri.call("RunPodSandbox", { config: this.config, runtime_handler: this.rt })).pod_sandbox_id;
        this.netns = pinnedNetns().filter((n) => !before.has(n));
        return this;
      }

      /** PodSandboxStatus: its state and, with its own network, its IP. */
      async sandboxStatus(): Promise<Message> {
        return (await cri.call("PodSandboxStatus", { pod_sandbox_id: this.id })).status;
      }

      /** CreateContainer (+ StartContainer unless start is false); its log file is NAME.log in the pod's log directory. */
      async container(name: string, command: string[], opts: { start?: boolean; linux?: Message; config?: Message } = {}): Promise<string> {
        const ns = this.config.linux.security_context.namespace_options;
        const linux = { ...opts.linux, security_context: { namespace_options: ns, ...opts.linux?.security_context } };
        const config = { metadata: { name, attempt: 0 }, image: { image: CRI_IMAGE }, command, log_path: `${name}.log`, linux, ...opts.config };
        const id = (await cri.call("CreateContainer", { pod_sandbox_id: this.id, config, sandbox_config: this.config })).container_id;
        this.containers.push(id);
        if (opts.start !== false) await cri.call("StartContainer", { container_id: id });
        return id;
      }

      async status(id: string): Promise<Message> {
        return (await cri.call("ContainerStatus", { container_id: id })).status;
      }

      async exited(id: string): Promise<Message> {
        return waitFor(`container ${id} to exit`, async () => {
          const s = await this.status(id);
          return s.state === "CONTAINER_EXITED" ? s : undefined;
        });
      }

      async exec(id: string, cmd: string[]): Promise<{ stdout: string; stderr: string; exit_code: number }> {
        const r = await cri.call("ExecSync", { container_id: id, cmd, timeout: 30 });
        return { stdout: text(r.stdout), stderr: text(r.stderr), exit_code: r.exit_code };
      }

      /** The container's log file, parsed: "stream: line" each. */
      log(name: string): string[] {
        return parseCriLog(readFileSync(path.join(this.logDir, `${name}.log`), "utf8")).map((l) => `${l.stream}: ${l.line}`);
      }

      /** The container's cgroup directory in the v1 hierarchy h (cgroupfs driver). */
      cgroup(h: string, id: string): string {
        // containerd's cgroupsPath: PARENT/ID (cgroupfs) or PARENT:cri-containerd:ID, a scope in the slice (systemd).
        return path.join("/sys/fs/cgroup", h, this.cgroupDir, systemdCgroup ? `cri-containerd-${id}.scope` : id);
      }

      /** Processes of this pod: the shim (its -id is the sandbox's) and anything in the pod's cgroups. */
      processes(): string[] {
        const out: string[] = [];
        for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
          try {
            const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            const cgroup = readFileSync(`/proc/${pid}/cgroup`, "utf8");
            if ((cmdline[0]?.endsWith("containerd-shim-runc-v2") && cmdline.includes(this.id)) || cgroup.includes(this.cgroupParent)) out.push(`${pid} ${cmdline.join(" ").trim()}`);
          } catch {
            // gone meanwhile
          }
        }
        return out;
      }

      /**
       * Remove what is left of the pod, then check that nothing of it stayed: no sandbox
       * or container in the CRI, no process, no mount, no runtime state, no cgroup below
       * the pod's parent in any hierarchy (the parent itself is the kubelet's: removed here).
       */
      async cleanup(): Promise<string[]> {
        const left: string[] = [];
        if (this.id) {
          const before = await cri.call("ListContainers", { filter: { pod_sandbox_id: this.id } });
          // A scenario may have removed it already (RemovePodSandbox of an unknown id is no error, StopPodSandbox's is).
          if ((await cri.call("ListPodSandbox", { filter: { id: this.id } })).items.length) await removePod(this.id);
          const after = await cri.call("ListContainers", { filter: { pod_sandbox_id: this.id } });
          if ((after.containers ?? []).length) left.push(`containers ${after.containers.map((c: Message) => c.id)} (of ${before.containers.length})`);
          const sandboxes = await cri.call("ListPodSandbox", { filter: { id: this.id } });
          if ((sandboxes.items ?? []).length) left.push(`sandbox ${this.id}`);
          try {
            await waitFor("the pod's processes to end", () => (this.processes().length === 0 ? true : undefined), 15_000);
          } catch {
            left.push(...this.processes().map((p) => `process ${p}`));
          }
        }
        for (const m of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
          const point = m.split(" ")[4] ?? "";
          if (point.startsWith(daemon.dir + "/") || [this.id, ...this.containers].some((id) => id && point.includes(id))) left.push(`mount ${point}`);
        }
        for (const n of this.netns) if (existsSync(n)) left.push(`network namespace ${n}`);
        if (existsSync("/var/lib/cni/results")) for (const f of readdirSync("/var/lib/cni/results")) if (f.includes(this.id)) left.push(`CNI result /var/lib/cni/results/${f}`);
        for (const id of [this.id, ...this.containers]) {
          const state = path.join(daemon.dir, "runtime-root", this.rt, "k8s.io", id);
          if (id && existsSync(state)) left.push(`runtime state ${state}`);
        }
        for (const h of cgroupHierarchies()) {
          const dir = path.join("/sys/fs/cgroup", h, this.cgroupDir);
          if (!existsSync(dir)) continue;
          for (const child of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
            left.push(`cgroup ${path.join(dir, child.name)}`);
            try {
              rmdirSync(path.join(dir, child.name));
            } catch {
              // still busy: reported above
            }
          }
          try {
            if (!systemdCgroup) rmdirSync(dir);
          } catch (e) {
            left.push(`cgroup ${dir}: ${(e as Error).message}`);
          }
        }
        if (systemdCgroup) sh(["systemctl", "stop", this.cgroupParent]);
        return left;
      }
    }

    /** Run a pod scenario; the pod is removed and checked for leftovers whether the scenario passed or not. */
    async function withPod(rt: Runtime, label: string, opts: PodOptions, fn: (pod: Pod) => Promise<string>): Promise<string> {
      const pod = new Pod(rt, label, opts);
      let result: string | undefined;
      let failure: unknown;
      try {
        await pod.run();
        result = await fn(pod);
      } catch (e) {
        failure = e;
      }
      const left = await pod.cleanup();
      if (failure) throw failure;
      check(left.length === 0, `left behind: ${left.join("; ")}`);
      return result!;
    }

    test("the kubelet's calls: run, create, start, status, list, exec, update, stop, remove; logs", async () => {
      await sideBySide(report, "pod lifecycle", (rt) =>
        withPod(rt, "life", {}, async (pod) => {
          const id = await pod.container("main", ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo started; echo to-stderr >&2; while :; do sleep 0.1; done"], {
            linux: { resources: { memory_limit_in_bytes: 64 << 20, cpu_shares: 256 } },
            // A device as a device plugin hands one over (one not in the default allow list): read-only in the devices cgroup.
            config: { devices: [{ host_path: DEVICE, container_path: "/dev/xdev", permissions: "r" }] },
          });
          const s = await pod.status(id);
          check(s.state === "CONTAINER_RUNNING" && s.started_at > 0, `status: want RUNNING, got ${s.state}`);
          const list = await cri.call("ListContainers", { filter: { pod_sandbox_id: pod.id } });
          check(list.containers.length === 1 && list.containers[0].id === id && list.containers[0].state === "CONTAINER_RUNNING", `ListContainers: want ${id} RUNNING, got ${JSON.stringify(list.containers)}`);
          const e = await pod.exec(id, ["sh", "-c", "echo in-exec; echo exec-err >&2; exit 4"]);
          check(e.exit_code === 4 && e.stdout === "in-exec\n" && e.stderr === "exec-err\n", `ExecSync: want in-exec, exec-err, exit 4, got ${JSON.stringify(e)}`);
          const dev = await pod.exec(id, ["sh", "-c", "test -e /dev/xdev && echo present; cat /dev/xdev > /dev/null && echo read-ok; (echo x > /dev/xdev) 2>/dev/null || echo write-denied"]);
          check(dev.stdout === "present\nread-ok\nwrite-denied\n", `device ${DEVICE} as /dev/xdev with permissions r: ${JSON.stringify(dev)}`);
          // The kubelet's stats: the shim reads them from the cgroups of the container's init.
          const stats = (await cri.call("ContainerStats", { container_id: id })).stats;
          check(stats?.cpu?.usage_core_nano_seconds?.value > 0 && stats?.memory?.working_set_bytes?.value > 0, `ContainerStats: want CPU and memory use, got ${JSON.stringify({ cpu: stats?.cpu, memory: stats?.memory })}`);
          // A probe past its timeout: ExecSync fails and the exec'd process is killed; the container runs on.
          // (The shim can kill only an exec that has started: one slower to start than the timeout outlives it,
          // with runc too. bunc exec takes ~0.2 s here, runc's 0.06 s, and this host runs at a load of 20: 5 s, not 1.)
          const late = await cri.call("ExecSync", { container_id: id, cmd: ["sleep", "1004"], timeout: 5 }).then(() => "returned", (err: Error) => err.message);
          check(/timeout|deadline/i.test(late), `ExecSync past its timeout: want a timeout error, got ${late}`);
          await waitFor("the timed-out exec to be killed", () => (pod.processes().some((p) => p.includes("sleep 1004")) ? undefined : true), 15_000);
          check((await pod.status(id)).state === "CONTAINER_RUNNING", "the container runs on after the exec's timeout");
          const file = (h: string, f: string) => readFileSync(path.join(pod.cgroup(h, id), f), "utf8").trim();
          // memory, memory+swap (containerd sets swap = memory where the kernel accounts swap), cpu.shares, cpuset.cpus
          const limits = () => [file("memory", "memory.limit_in_bytes"), memsw ? file("memory", "memory.memsw.limit_in_bytes") : "-", file("cpu", "cpu.shares"), file("cpuset", "cpuset.cpus")].join(" ");
          const memsw = existsSync(path.join(pod.cgroup("memory", id), "memory.memsw.limit_in_bytes"));
          const want = (mib: number, shares: number, cpus: string) => [String(mib << 20), memsw ? String(mib << 20) : "-", String(shares), cpus].join(" ");
          const cpus = file("cpuset", "cpuset.cpus");
          check(limits() === want(64, 256, cpus), `created limits: want ${want(64, 256, cpus)}, got ${limits()}`);
          // Up (memsw must be raised before memory) and down (memory lowered before memsw), as the kubelet resizes.
          for (const [mib, shares, set] of [[96, 512, "0"], [48, 128, cpus]] as const) {
            await cri.call("UpdateContainerResources", { container_id: id, linux: { memory_limit_in_bytes: mib << 20, cpu_shares: shares, cpuset_cpus: set } });
            check(limits() === want(mib, shares, set), `after UpdateContainerResources to ${mib} MiB: want ${want(mib, shares, set)}, got ${limits()}`);
          }
          const inside = await pod.exec(id, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
          check(inside.stdout.trim() === String(48 << 20), `the container sees memory.limit_in_bytes ${inside.stdout.trim()}`);
          const updated = (await pod.status(id)).resources?.linux;
          check(updated?.memory_limit_in_bytes === 48 << 20 && updated?.cpu_shares === 128, `ContainerStatus resources after update: ${JSON.stringify(updated)}`);
          await cri.call("StopContainer", { container_id: id, timeout: 10 });
          const x = await pod.exited(id);
          check(x.exit_code === 0 && x.reason === "Completed", `after StopContainer: want exit 0 Completed, got ${x.exit_code} ${x.reason}`);
          const log = pod.log("main");
          check(JSON.stringify(log.slice().sort()) === JSON.stringify(["stderr: to-stderr", "stdout: bye", "stdout: started"]), `log: ${JSON.stringify(log)}`);
          await cri.call("RemoveContainer", { container_id: id });
          const gone = await cri.call("ListContainers", { filter: { pod_sandbox_id: pod.id } });
          check(gone.containers.length === 0, "ListContainers after RemoveContainer: want none");
          check(!existsSync(pod.cgroup("memory", id)), "the container's memory cgroup is gone after RemoveContainer");
          return "RUNNING, listed, exec exit 4, stats, device r only, exec timeout killed, limits 64M/256 → 96M/512/cpu 0 → 48M/128, TERM → exit 0 Completed, log started/to-stderr/bye, removed";
        }),
      );
    }, 180_000);

    test("two containers in one pod share its PID, IPC, network (CNI) and UTS namespaces, not their mounts", async () => {
      await sideBySide(report, "shared namespaces", (rt) =>
        withPod(rt, "share", { pid: "POD" }, async (pod) => {
          const a = await pod.container("a", ["sleep", "1001"]);
          const b = await pod.container("b", ["sleep", "1002"]);
          const ns = async (id: string) => (await pod.exec(id, ["sh", "-c", "for n in pid ipc net uts mnt; do echo $n $(readlink /proc/self/ns/$n); done"])).stdout;
          const [na, nb] = [await ns(a), await ns(b)];
          const field = (s: string, n: string) => s.split("\n").find((l) => l.startsWith(n + " "))?.split(" ")[1];
          for (const n of ["pid", "ipc", "net", "uts"]) check(field(na, n) !== undefined && field(na, n) === field(nb, n), `${n}: a ${field(na, n)}, b ${field(nb, n)}`);
          check(field(na, "mnt") !== field(nb, "mnt"), "mnt: each container has its own");
          // NamespaceMode POD: the pod's own network (not the daemon's), UTS, PID and IPC namespaces.
          const host = (n: string) => readlinkSync(`/proc/${daemon.pid}/ns/${n}`);
          for (const n of ["net", "uts", "pid", "ipc"]) check(field(na, n) !== host(n), `${n} is the pod's, not the daemon's`);
          const hostname = await pod.exec(b, ["hostname"]);
          check(hostname.stdout.trim() === pod.name, `hostname: want ${pod.name}, got ${JSON.stringify(hostname)}`);
          const ip = (await pod.sandboxStatus()).network?.ip;
          const addr = await pod.exec(a, ["ip", "-4", "-o", "addr", "show", "eth0"]);
          check(/^192\.0\.2\.\d+$/.test(ip) && addr.stdout.includes(` ${ip}/24 `), `eth0: want the pod's IP ${ip} from CNI, got ${JSON.stringify(addr)}`);
          const ps = (await pod.exec(a, ["ps", "-o", "pid,args"])).stdout;
          check(/^\s*1 sleep infinity$/m.test(ps) && /sleep 1001/.test(ps) && /sleep 1002/.test(ps), `ps in a: want the sandbox's sleep infinity as PID 1 and both containers' processes, got ${JSON.stringify(ps)}`);
          const w = await pod.exec(a, ["sh", "-c", "echo from-a > /dev/shm/note"]);
          const r = await pod.exec(b, ["cat", "/dev/shm/note"]);
          check(w.exit_code === 0 && r.stdout === "from-a\n", `the pod's /dev/shm: b read ${JSON.stringify(r)}`);
          return "pid/ipc/net/uts shared and the pod's own, mnt own, hostname the pod's, eth0 has the pod IP, ps shows the pod, /dev/shm shared";
        }),
      );
    }, 180_000);

    test("the host's network (NODE), a container's own PID namespace (the kubelet's default) and the security context", async () => {
      await sideBySide(report, "NODE net, own PID ns, security context", (rt) =>
        withPod(rt, "secctx", { network: "NODE" }, async (pod) => {
          const script = "echo net=$(readlink /proc/self/ns/net); echo uid=$(id -u); grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/self/status | tr -d '\\t'; touch /x 2>/dev/null || echo rootfs-ro; echo masked=$(grep -cE ' /proc/(acpi|kcore|keys|latency_stats|timer_list|timer_stats|sched_debug|scsi) ' /proc/self/mountinfo); echo readonly=$(grep -E ' /proc/(asound|bus|fs|irq|sys|sysrq-trigger) ' /proc/self/mountinfo | grep -c ' ro,'); ps -o pid,comm; exit 0";
          const id = await pod.container("c", ["sh", "-c", script], {
            linux: {
              security_context: {
                run_as_user: { value: 65534 },
                readonly_rootfs: true,
                no_new_privs: true,
                seccomp: { profile_type: "RuntimeDefault" },
                capabilities: { drop_capabilities: ["ALL"], add_capabilities: ["NET_BIND_SERVICE"] },
                // The kubelet's lists for a container that is not privileged (some are missing on this host's /proc).
                masked_paths: MASKED_PATHS,
                readonly_paths: READONLY_PATHS,
              },
            },
          });
          const x = await pod.exited(id);
          const log = pod.log("c");
          check(x.exit_code === 0 && x.reason === "Completed", `want exit 0 Completed, got ${x.exit_code} ${x.reason}; log ${JSON.stringify(log)}`);
          // The container's /proc is the same kernel's: the paths this host's /proc has are masked or read-only there.
          const masked = MASKED_PATHS.filter((p) => p.startsWith("/proc/") && existsSync(p)).length;
          const readonly = READONLY_PATHS.filter((p) => existsSync(p)).length;
          const want = [`stdout: net=${readlinkSync(`/proc/${daemon.pid}/ns/net`)}`, "stdout: uid=65534", "stdout: NoNewPrivs:1", "stdout: Seccomp:2", "stdout: CapEff:0000000000000000", "stdout: CapBnd:0000000000000400", "stdout: rootfs-ro", `stdout: masked=${masked}`, `stdout: readonly=${readonly}`];
          for (const w of want) check(log.includes(w), `log: want ${w}, got ${JSON.stringify(log)}`);
          check(log.some((l) => /^stdout:\s+1 sh$/.test(l)) && !log.some((l) => /sleep infinity/.test(l)), `the container's shell is PID 1 of its own namespace: ${JSON.stringify(log)}`);
          // ps's own PID is whatever the shell's forks made it: left out of the comparison.
          return log.filter((l) => !/\sps$/.test(l)).join(" | ");
        }),
      );
    }, 180_000);

    test("what the kubelet adds: bind mounts (ro, rw, rslave), env, working dir, user and groups, CPU quota, oom_score_adj, sysctls", async () => {
      await sideBySide(report, "kubelet mounts/env/user/sysctl", (rt) =>
        withPod(rt, "kubelet", {}, async (pod) => {
          const host = path.join(daemon.dir, "host", pod.name);
          mkdirSync(path.join(host, "data"), { recursive: true });
          writeFileSync(path.join(host, "hosts"), "127.0.0.1 localhost bunc-pod\n");
          // Writable by the container's user 1000, as the kubelet makes the termination log (0666).
          writeFileSync(path.join(host, "termination-log"), "", { mode: 0o666 });
          chmodSync(path.join(host, "termination-log"), 0o666);
          chmodSync(path.join(host, "data"), 0o777);
          // HOST_TO_CONTAINER (rslave) needs a shared mount on the host side: a tmpfs of this test's own.
          const shared = path.join(host, "shared");
          mkdirSync(shared);
          const mounted: string[] = [];
          const mount = (args: string[], at: string) => {
            const r = sh(["mount", ...args, at]);
            check(r.code === 0, `mount ${args.join(" ")} ${at}`, r);
            mounted.unshift(at);
          };
          try {
            mount(["-t", "tmpfs", "-o", "size=1m", "bunc-cri-shared"], shared);
            check(sh(["mount", "--make-shared", shared]).code === 0, "mount --make-shared");
            const script = [
              "echo cwd=$(pwd) uid=$(id -u) gid=$(id -g) groups=$(id -G)",
              "echo env=$GREETING",
              "cat /etc/hosts",
              "echo done > /dev/termination-log && echo termination-log-written",
              "echo x > /etc/hosts 2>/dev/null || echo hosts-ro",
              "echo data > /data/file && echo data-written",
              "echo shm_rmid_forced=$(cat /proc/sys/kernel/shm_rmid_forced)",
              "echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us) oom_score_adj=$(cat /proc/self/oom_score_adj)",
              "while ! grep -q ' /shared/late ' /proc/self/mountinfo; do sleep 0.1; done; echo late-mount-seen",
            ].join("; ");
            const id = await pod.container("app", ["sh", "-c", script], {
              linux: {
                resources: { cpu_period: 100000, cpu_quota: 50000, oom_score_adj: 900 },
                security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 1000 }, supplemental_groups: [2000, 3000] },
              },
              config: {
                working_dir: "/tmp",
                envs: [{ key: "GREETING", value: "hello pod" }],
                mounts: [
                  { container_path: "/etc/hosts", host_path: path.join(host, "hosts"), readonly: true },
                  { container_path: "/dev/termination-log", host_path: path.join(host, "termination-log") },
                  { container_path: "/data", host_path: path.join(host, "data") },
                  { container_path: "/shared", host_path: shared, propagation: "PROPAGATION_HOST_TO_CONTAINER" },
                ],
              },
            });
            // A mount made on the host after the start reaches the container through the rslave bind.
            mkdirSync(path.join(shared, "late"));
            mount(["-t", "tmpfs", "-o", "size=1m", "bunc-cri-late"], path.join(shared, "late"));
            const x = await pod.exited(id);
            const log = pod.log("app");
            check(x.exit_code === 0, `want exit 0, got ${x.exit_code} ${x.reason}; log ${JSON.stringify(log)}`);
            const want = [
              "stdout: cwd=/tmp uid=1000 gid=1000 groups=1000 2000 3000",
              "stdout: env=hello pod",
              "stdout: 127.0.0.1 localhost bunc-pod",
              "stdout: termination-log-written",
              "stdout: hosts-ro",
              "stdout: data-written",
              "stdout: shm_rmid_forced=1",
              "stdout: quota=50000 period=100000 oom_score_adj=900",
              "stdout: late-mount-seen",
            ];
            // The writes that fail say so on stderr ("hosts-ro" is the one meant to): stdout holds the rest in order.
            const stdout = log.filter((l) => l.startsWith("stdout: "));
            check(JSON.stringify(stdout) === JSON.stringify(want), `log: want ${JSON.stringify(want)}, got ${JSON.stringify(log)}`);
            check(readFileSync(path.join(host, "termination-log"), "utf8") === "done\n" && readFileSync(path.join(host, "data/file"), "utf8") === "data\n", "the container's writes reach the host files");
            return stdout.join(" | ");
          } finally {
            for (const m of mounted) sh(["umount", "-l", m]);
          }
        }),
      );
    }, 180_000);

    test("a privileged pod: all capabilities, no seccomp or masked paths, the host's devices; a container with a terminal", async () => {
      await sideBySide(report, "privileged + tty", (rt) =>
        withPod(rt, "priv", { privileged: true }, async (pod) => {
          const script = "grep -E '^(Seccomp|CapEff):' /proc/self/status | tr -d '\\t'; echo masked=$(grep -cE ' /proc/(keys|timer_list) ' /proc/self/mountinfo); echo sys=$(grep -E ' /sys ' /proc/self/mountinfo | grep -o -E ' (ro|rw),' | head -1); test -e /dev/" + rootDevice() + " && echo host-device";
          const id = await pod.container("p", ["sh", "-c", script], { linux: { security_context: { privileged: true } } });
          const t = await pod.container("t", ["sh", "-c", "tty; test -t 1 && echo is-a-tty; exit 3"], { config: { tty: true } });
          const [x, y] = [await pod.exited(id), await pod.exited(t)];
          const log = pod.log("p");
          const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1];
          const want = [`stdout: CapEff:${capEff}`, "stdout: Seccomp:0", "stdout: masked=0", "stdout: sys= rw,", "stdout: host-device"];
          check(x.exit_code === 0 && JSON.stringify(log) === JSON.stringify(want), `privileged: want ${JSON.stringify(want)}, got exit ${x.exit_code} ${JSON.stringify(log)}`);
          // With a terminal, both streams are the pty's: the CRI log has them as stdout, with the pty's CRLF.
          const tlog = pod.log("t").map((l) => l.replace(/\r$/, ""));
          check(y.exit_code === 3 && JSON.stringify(tlog) === JSON.stringify(["stdout: /dev/pts/0", "stdout: is-a-tty"]), `tty: want /dev/pts/0, is-a-tty, exit 3, got exit ${y.exit_code} ${JSON.stringify(pod.log("t"))}`);
          return `${log.join(" | ")}; tty exit 3 ${tlog.join(" | ")}`;
        }),
      );
    }, 180_000);

    test("in a pod's shared PID namespace, a container whose init exits leaves no child behind (the shim's kill --all)", async () => {
      await sideBySide(report, "init exits, child killed", (rt) =>
        withPod(rt, "orphan", { pid: "POD" }, async (pod) => {
          const keep = await pod.container("keep", ["sleep", "1000"]);
          const id = await pod.container("parent", ["sh", "-c", "sleep 1003 & echo child=$!; exit 0"]);
          const x = await pod.exited(id);
          check(x.exit_code === 0 && x.reason === "Completed", `want exit 0 Completed, got ${x.exit_code} ${x.reason}`);
          // The runc shim sees the pod's PID namespace in the bundle's config and kills the rest of the container's processes.
          const child = await waitFor("the container's orphaned child to be killed", async () => ((await pod.exec(keep, ["ps", "-o", "args"])).stdout.includes("sleep 1003") ? undefined : true), 15_000);
          // (containerd deletes the task on its exit: the cgroup may be gone already, which is as empty.)
          const cg = path.join(pod.cgroup("pids", id), "tasks");
          const tasks = existsSync(cg) ? readFileSync(cg, "utf8").trim() : "";
          check(child && tasks === "", `the container's cgroup still holds ${tasks}`);
          check((await pod.status(keep)).state === "CONTAINER_RUNNING", "the other container runs on");
          return "exit 0 Completed, orphan killed, cgroup empty, other container running";
        }),
      );
    }, 180_000);

    test("the sandbox's process dies: the pod is NOTREADY, its containers in the PID namespace die with it", async () => {
      await sideBySide(report, "sandbox killed", (rt) =>
        withPod(rt, "dies", { pid: "POD" }, async (pod) => {
          const id = await pod.container("c", ["sleep", "1000"]);
          const info = JSON.parse((await cri.call("PodSandboxStatus", { pod_sandbox_id: pod.id, verbose: true })).info.info);
          check(info.pid > 0, `PodSandboxStatus verbose info: want the sandbox's pid, got ${info.pid}`);
          process.kill(info.pid, "SIGKILL");
          const x = await pod.exited(id);
          check(x.exit_code === 137 && x.reason === "Error", `the container: want exit 137 Error, got ${x.exit_code} ${x.reason}`);
          const state = await waitFor("the sandbox to be NOTREADY", async () => {
            const st = (await pod.sandboxStatus()).state;
            return st === "SANDBOX_NOTREADY" ? st : undefined;
          });
          return `container exit ${x.exit_code} ${x.reason}, sandbox ${state}`;
        }),
      );
    }, 180_000);

    test("a container that exits non-zero: exit code, reason Error, its log", async () => {
      await sideBySide(report, "exit 7", (rt) =>
        withPod(rt, "exit", {}, async (pod) => {
          const id = await pod.container("fail", ["sh", "-c", "echo out; echo err >&2; exit 7"]);
          const x = await pod.exited(id);
          check(x.exit_code === 7 && x.reason === "Error" && x.finished_at > 0, `want exit 7 Error, got ${x.exit_code} ${x.reason} (finished_at ${x.finished_at})`);
          const log = pod.log("fail");
          check(JSON.stringify(log.slice().sort()) === JSON.stringify(["stderr: err", "stdout: out"]), `log: ${JSON.stringify(log)}`);
          return `exit ${x.exit_code} ${x.reason}, log ${log.slice().sort().join(", ")}`;
        }),
      );
    }, 180_000);

    test("a container that runs out of memory: OOMKilled", async () => {
      await sideBySide(report, "OOM (32 MiB)", (rt) =>
        withPod(rt, "oom", {}, async (pod) => {
          const id = await pod.container("hog", ["sh", "-c", "echo filling; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"], {
            linux: { resources: { memory_limit_in_bytes: 32 << 20 } },
          });
          const x = await pod.exited(id);
          const log = pod.log("hog");
          check(x.exit_code === 137 && x.reason === "OOMKilled" && !log.includes("stdout: survived"), `want exit 137 OOMKilled, got ${x.exit_code} ${x.reason}; log ${JSON.stringify(log)}`);
          return `exit ${x.exit_code} ${x.reason}`;
        }),
      );
    }, 180_000);

    test("a pod removed while its containers run", async () => {
      await sideBySide(report, "RemovePodSandbox while running", (rt) =>
        withPod(rt, "rm", { pid: "POD" }, async (pod) => {
          const ids = [await pod.container("one", ["sleep", "1000"]), await pod.container("two", ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"])];
          const created = await pod.container("created", ["true"], { start: false });
          check((await pod.status(created)).state === "CONTAINER_CREATED", "a created, never started container");
          for (const id of ids) check((await pod.status(id)).state === "CONTAINER_RUNNING", `${id} RUNNING`);
          await cri.call("RemovePodSandbox", { pod_sandbox_id: pod.id });
          const list = await cri.call("ListContainers", { filter: { pod_sandbox_id: pod.id } });
          const pods = await cri.call("ListPodSandbox", { filter: { id: pod.id } });
          check(list.containers.length === 0 && pods.items.length === 0, `after RemovePodSandbox: ${list.containers.length} containers, ${pods.items.length} sandboxes`);
          await waitFor("the pod's processes to end", () => (pod.processes().length === 0 ? true : undefined), 15_000);
          return "3 containers (2 running, 1 created) removed with the pod, no process left";
        }),
      );
    }, 180_000);
  });
}
