/**
 * What the CRI tests need beside a private containerd: the CRI v1 API (its
 * api.proto, taken at test time from Debian's containerd source package, which
 * vendors k8s.io/cri-api), a gRPC client of containerd's RuntimeService on the
 * daemon's socket, the CRI plugin's config with bunc and runc as runtime
 * handlers, and a busybox image made as a docker archive for `ctr images import`
 * (no registry is reachable).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { makeBundle } from "../../scripts/rootfs";
import { BUNC, REPO, RUNC, sh } from "../harness";
import type { Runtime } from "./setup";

/** Where the fetched containerd source and the api.proto made from it are kept between runs (never in the repository). */
const CACHE = process.env.BUNC_CRI_API_CACHE ?? "/var/tmp/bunc-cri-api";
const API_IN_SOURCE = "vendor/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto";

/**
 * The CRI v1 api.proto of the installed containerd's source (`apt-get source
 * containerd`), without its gogoproto import and options (Go code generation
 * only; they change no message on the wire). The path, or why it cannot be had.
 */
export function criApiProto(): { proto: string } | { skip: string } {
  const proto = path.join(CACHE, "api.proto");
  if (existsSync(proto)) return { proto };
  mkdirSync(CACHE, { recursive: true });
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" } as Record<string, string>;
  let orig = readdirSync(CACHE).find((f) => /^containerd_.*\.orig\.tar\.xz$/.test(f));
  if (!orig) {
    const src = sh(["bash", path.join(REPO, "scripts/deb-src.sh")], { env, timeoutMs: 300_000 });
    if (src.code !== 0) return { skip: `no deb-src entry for apt-get source (scripts/deb-src.sh: ${src.stderr.trim().split("\n").pop()})` };
    let r = sh(["apt-get", "source", "--download-only", "-qq", "containerd"], { cwd: CACHE, env, timeoutMs: 300_000 });
    if (r.code !== 0) {
      sh(["apt-get", "update", "-qq"], { env, timeoutMs: 300_000 });
      r = sh(["apt-get", "source", "--download-only", "-qq", "containerd"], { cwd: CACHE, env, timeoutMs: 300_000 });
    }
    orig = readdirSync(CACHE).find((f) => /^containerd_.*\.orig\.tar\.xz$/.test(f));
    if (!orig) return { skip: `apt-get source containerd failed: ${r.stderr.trim().split("\n").pop()}` };
  }
  const x = sh(["tar", "-xJf", orig, "-O", "--wildcards", `*/${API_IN_SOURCE}`], { cwd: CACHE, timeoutMs: 120_000 });
  if (x.code !== 0 || !x.stdout.includes("service RuntimeService")) return { skip: `${orig} has no ${API_IN_SOURCE}: ${x.stderr.trim()}` };
  writeFileSync(proto, x.stdout.split("\n").filter((l) => !/gogoproto/.test(l)).join("\n"));
  return { proto };
}

type Message = Record<string, any>;
/** One RuntimeService method: a request message in, the response message out. */
export type Call = (request: Message, timeoutMs?: number) => Promise<Message>;

/** containerd's CRI RuntimeService (runtime.v1) on a unix socket, each method as a promise. */
export class CriClient {
  private readonly client: grpc.Client;

  constructor(proto: string, socket: string) {
    // keepCase: the messages' field names as api.proto spells them (pod_sandbox_id).
    const def = protoLoader.loadSync(proto, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    this.client = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  /** Call a RuntimeService method (e.g. "RunPodSandbox") with a deadline. */
  call(method: string, request: Message, timeoutMs = 60_000): Promise<Message> {
    const fn = (this.client as any)[method];
    if (typeof fn !== "function") throw new Error(`RuntimeService has no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(this.client, request, { deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res: Message) => {
        if (err) reject(new Error(`${method}: ${err.details || err.message}`));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The image the tests run and the CRI plugin's sandbox image: busybox, `sleep infinity` by default. */
export const CRI_IMAGE = "localhost/bunc-busybox:cri";

/**
 * A docker archive (manifest.json, the image config, one layer) of a busybox rootfs,
 * made with tar here: what `docker save` writes, which `ctr images import` reads.
 */
export function imageArchive(dir: string): string {
  makeBundle(path.join(dir, "bundle"));
  const work = path.join(dir, "image");
  mkdirSync(work, { recursive: true });
  const layer = path.join(work, "layer.tar");
  let r = sh(["tar", "--numeric-owner", "-C", path.join(dir, "bundle/rootfs"), "-cf", layer, "."], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`tar of the rootfs: ${r.stderr}`);
  const diffId = "sha256:" + createHash("sha256").update(readFileSync(layer)).digest("hex");
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sleep", "infinity"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created_by: "bunc test/clients/cri.ts: busybox-static" }],
  };
  const configText = JSON.stringify(config);
  const configName = createHash("sha256").update(configText).digest("hex") + ".json";
  writeFileSync(path.join(work, configName), configText);
  writeFileSync(path.join(work, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [CRI_IMAGE], Layers: ["layer.tar"] }]));
  const archive = path.join(dir, "busybox-docker.tar");
  r = sh(["tar", "-C", work, "-cf", archive, "manifest.json", configName, "layer.tar"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`tar of the image: ${r.stderr}`);
  return archive;
}

/** The runc shim's options for a runtime handler: which binary, which cgroup driver. */
export interface Handler {
  name: Runtime;
  binary: string;
  systemdCgroup: boolean;
}

/** bunc (dist/bunc of this tree) and runc as runtime handlers, both with the given cgroup driver. */
export function handlers(systemdCgroup: boolean): Handler[] {
  return [
    { name: "bunc", binary: BUNC, systemdCgroup },
    { name: "runc", binary: RUNC!, systemdCgroup },
  ];
}

/**
 * A runtime handler in the CRI plugin's config: the runc shim with the handler's
 * binary and cgroup driver. README shows these lines for /usr/local/bin/bunc, and
 * cri.test.ts checks that it does.
 */
export function runtimeHandlerConfig(h: Handler): string[] {
  const runtime = `plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h.name}`;
  return [`[${runtime}]`, '  runtime_type = "io.containerd.runc.v2"', `[${runtime}.options]`, `  BinaryName = "${h.binary}"`, `  SystemdCgroup = ${h.systemdCgroup}`];
}

/** Whether this process has CAP_SYS_RESOURCE (bit 24 of CapEff): lowering oom_score_adj needs it. */
export function hasSysResource(): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt("0x" + eff) >> 24n) & 1n) === 1n;
}

/**
 * The CRI plugin's part of containerd's config (version 2): the runtime handlers,
 * the sandbox image, the private CNI config dir (see cniConfig), AppArmor off (no
 * profile is loaded into the host's kernel), the streaming server on loopback only. Where root lacks
 * CAP_SYS_RESOURCE (this host), restrict_oom_score_adj: the sandbox's oom_score_adj
 * of -998 cannot be written (EACCES, with runc as with bunc), so containerd caps
 * it at its own.
 */
export function criConfig(hs: Handler[], cniConfDir: string): string[] {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const lines = [
    `[${cri}]`,
    `  sandbox_image = "${CRI_IMAGE}"`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    "  disable_apparmor = true",
    ...(hasSysResource() ? [] : ["  restrict_oom_score_adj = true"]),
    `[${cri}.containerd]`,
    `  default_runtime_name = "${hs[0]!.name}"`,
    '  snapshotter = "overlayfs"',
  ];
  for (const h of hs) lines.push(...runtimeHandlerConfig(h));
  lines.push(`[${cri}.cni]`, '  bin_dir = "/usr/lib/cni"', `  conf_dir = "${cniConfDir}"`);
  return lines;
}

/**
 * A CNI network for pods that have their own network namespace (NamespaceMode POD,
 * the kubelet's default), from Debian's containernetworking-plugins: a bridge and
 * host-local addresses in TEST-NET-1 (192.0.2.0/24, RFC 5737: never routed), no
 * gateway, no masquerading, no iptables. It is meant for a containerd in a network
 * namespace of its own (unshare --net), where the bridge and the veths' host ends
 * live and die with it; host-local keeps its leases in ipamDir. A loopback-only
 * config cannot do: containerd 1.6 wants an eth0 with an address in the CNI result.
 */
export function cniConfig(name: string, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name,
    plugins: [
      {
        type: "bridge",
        bridge: "cni-bunc0",
        isGateway: false,
        ipMasq: false,
        ipam: { type: "host-local", ranges: [[{ subnet: "192.0.2.0/24" }]], dataDir: ipamDir },
      },
    ],
  }, null, 2);
}

/** Why a containerd in its own network namespace cannot run CNI's bridge here, or undefined when it can. */
export function cniSkipReason(): string | undefined {
  if (!existsSync("/usr/lib/cni/bridge") || !existsSync("/usr/lib/cni/host-local")) return "containernetworking-plugins is not installed (/usr/lib/cni/bridge, host-local)";
  const r = sh(["unshare", "--net", "ip", "link", "add", "cni-probe0", "type", "bridge"]);
  return r.code === 0 ? undefined : `no bridge in a new network namespace (unshare --net ip link add type bridge: ${r.stderr.trim()})`;
}

/** Parse a CRI log file: `TIMESTAMP STREAM TAG CONTENT` per line, partial (P) lines joined to the full (F) one. */
export function parseCriLog(text: string): { stream: string; line: string }[] {
  const out: { stream: string; line: string }[] = [];
  let partial = "";
  for (const raw of text.split("\n")) {
    if (!raw) continue;
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/.exec(raw);
    if (!m || Number.isNaN(Date.parse(m[1]!))) throw new Error(`not a CRI log line: ${JSON.stringify(raw)}`);
    if (m[3] === "P") partial += m[4];
    else {
      out.push({ stream: m[2]!, line: partial + m[4] });
      partial = "";
    }
  }
  return out;
}
