/**
 * Helpers for the container-*.test.ts integration tests: run a shell script
 * in a real container (under bunc, and the same bundle under runc for
 * comparison), long-running containers to join by path, namespace links,
 * capability masks and mountinfo parsing.
 */
import { chmodSync, existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { RUNC, type Result, Sandbox } from "../harness";

export type Config = Record<string, any>;
export type Edit = (config: Config) => void;

export interface RunOpts {
  /** Extra flags for `run` (--no-pivot, ...). */
  flags?: string[];
  /** Called with the bundle dir after it is made, before the run. */
  prepare?: (bundle: string) => void;
  /** The runtime's working directory (default: the test's). */
  cwd?: string;
  /** Kill the runtime after this long (default: sh's 30 s). */
  timeoutMs?: number;
}

/** Run `sh -c script` in a fresh bundle with `bunc run`. */
export function buncRun(sb: Sandbox, script: string, edit?: Edit, opts: RunOpts = {}): Result {
  const bundle = sb.bundle(["sh", "-c", script], edit);
  opts.prepare?.(bundle);
  return sb.bunc(["run", ...(opts.flags ?? []), "-b", bundle, sb.id()], { cwd: opts.cwd, timeoutMs: opts.timeoutMs });
}

/** Run `sh -c script` in a fresh bundle (the same config) with `runc run`. */
export function runcRun(sb: Sandbox, script: string, edit?: Edit, opts: RunOpts = {}): Result {
  const bundle = sb.bundle(["sh", "-c", script], edit);
  opts.prepare?.(bundle);
  return sb.runc(["run", ...(opts.flags ?? []), "-b", bundle, sb.id()], { cwd: opts.cwd, timeoutMs: opts.timeoutMs });
}

/** The same script and config under both runtimes (runc undefined when it is not installed). */
export function both(sb: Sandbox, script: string, edit?: Edit, opts: RunOpts = {}): { bunc: Result; runc?: Result; why: string } {
  const b = buncRun(sb, script, edit, opts);
  const r = RUNC ? runcRun(sb, script, edit, opts) : undefined;
  return { bunc: b, runc: r, why: `bunc: ${show(b)}\nrunc (same config): ${show(r)}` };
}

/** Rewrite a bundle's config.json. */
export function editBundle(bundle: string, edit: Edit): void {
  const file = `${bundle}/config.json`;
  const config = JSON.parse(readFileSync(file, "utf8"));
  edit(config);
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** A readable description of a result for failure messages. */
export function show(r: Result | undefined): string {
  if (!r) return "(not run)";
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

export interface Running {
  id: string;
  pid: number;
  bundle: string;
}

/**
 * A container created and started with bunc whose process runs `script`
 * (default: sleep), for other containers to join its namespaces by path.
 */
export function startLong(sb: Sandbox, edit?: Edit, script = "sleep 600"): Running {
  const id = sb.id("long");
  const bundle = sb.bundle(["sh", "-c", script], edit);
  const c = sb.bunc(["create", "-b", bundle, id]);
  if (c.code !== 0) throw new Error(`create ${id} failed: ${show(c)}`);
  const s = sb.bunc(["start", id]);
  if (s.code !== 0) throw new Error(`start ${id} failed: ${show(s)}`);
  const pid = sb.state(id).pid as number;
  if (!pid) throw new Error(`container ${id} has no pid`);
  return { id, pid, bundle };
}

/** Stop and delete a container from startLong. */
export function stopLong(sb: Sandbox, c: Running): void {
  sb.bunc(["delete", "-f", c.id]);
}

/** readlink of /proc/PID/ns/KIND on the host ("net:[4026531833]"). */
export function nsLink(kind: string, pid: number | "self" = "self"): string {
  return readlinkSync(`/proc/${pid}/ns/${kind}`);
}

/** Which namespace kinds this kernel has. */
export function hasNamespace(kind: string): boolean {
  return existsSync(`/proc/self/ns/${kind}`);
}

/** Why user namespaces cannot be tested here, or undefined. */
export function userNamespaceSkipReason(): string | undefined {
  if (!hasNamespace("user")) return "kernel has no user namespaces";
  try {
    if (Number(readFileSync("/proc/sys/user/max_user_namespaces", "utf8")) === 0) return "user.max_user_namespaces is 0";
  } catch {
    /* absent: allowed */
  }
  return undefined;
}

/** The sandbox dir is 0700; a mapped root (host uid 100000) must be able to reach the rootfs. */
export function openSandboxForUserns(sb: Sandbox): void {
  chmodSync(sb.dir, 0o755);
}

/** Every capability by number (linux/capability.h). */
export const CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
  "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

/** A set of capability names as /proc/PID/status prints it: 16 hex digits. */
export function capHex(names: readonly string[] = []): string {
  let mask = 0n;
  for (const n of names) {
    const i = CAPS.indexOf(n as (typeof CAPS)[number]);
    if (i < 0) throw new Error(`unknown capability ${n}`);
    mask |= 1n << BigInt(i);
  }
  return mask.toString(16).padStart(16, "0");
}

/** The capability sets of the calling (host) process, as hex strings. */
export function hostCaps(): Record<string, string> {
  return parseCaps(readFileSync("/proc/self/status", "utf8"));
}

/** CapInh/CapPrm/CapEff/CapBnd/CapAmb lines of a /proc/PID/status text. */
export function parseCaps(status: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of status.matchAll(/^(Cap(?:Inh|Prm|Eff|Bnd|Amb)):\s*([0-9a-f]+)$/gm)) out[m[1]!] = m[2]!;
  return out;
}

export interface MountInfo {
  id: number;
  parent: number;
  majmin: string;
  root: string;
  mountPoint: string;
  /** Per-mount options: rw,nosuid,nodev,... */
  options: string[];
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  optional: string[];
  fstype: string;
  source: string;
  superOptions: string[];
}

/** /proc/PID/mountinfo lines (proc(5)). */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!/^\d+ \d+ /.test(line)) continue;
    const [left, right] = line.split(" - ");
    const f = left!.split(" ");
    const r = (right ?? "").split(" ");
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      majmin: f[2]!,
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      options: f[5]!.split(","),
      optional: f.slice(6).filter(Boolean),
      fstype: r[0] ?? "",
      source: r[1] ?? "",
      superOptions: (r[2] ?? "").split(","),
    });
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** The last (topmost) mount at a mount point. */
export function mountAt(mounts: MountInfo[], point: string): MountInfo | undefined {
  return mounts.findLast((m) => m.mountPoint === point);
}

/** Options that describe access (the ones a config can ask for), sorted. */
export function accessOptions(m: MountInfo | undefined): string[] {
  if (!m) return [];
  const keep = new Set(["ro", "rw", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime"]);
  return m.options.filter((o) => keep.has(o)).sort();
}

/** The part of a script's output after a marker line, split into sections by "== name" lines. */
export function sections(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name = "";
  for (const line of stdout.split("\n")) {
    const m = /^== (.+)$/.exec(line);
    if (m) {
      name = m[1]!;
      out[name] = "";
    } else if (name) out[name] += `${line}\n`;
  }
  return out;
}

/** Add a namespace to a config, or replace the one of the same type (path: join it). */
export function setNamespace(config: Config, type: string, path?: string): void {
  config.linux ??= {};
  const list: Config[] = (config.linux.namespaces ??= []);
  const i = list.findIndex((ns) => ns.type === type);
  const ns = path ? { type, path } : { type };
  if (i >= 0) list[i] = ns;
  else list.push(ns);
}

/** Remove a namespace type from a config. */
export function dropNamespace(config: Config, type: string): void {
  config.linux.namespaces = (config.linux.namespaces ?? []).filter((ns: Config) => ns.type !== type);
}

/** uid/gid maps: container 0 → host 100000, 65536 ids. */
export function mapUsers(config: Config, hostID = 100000, size = 65536): void {
  config.linux.uidMappings = [{ containerID: 0, hostID, size }];
  config.linux.gidMappings = [{ containerID: 0, hostID, size }];
}
