/**
 * An image config to a runtime config, as the image-spec's conversion.md
 * says: args from Entrypoint + Cmd, env from Env, cwd from WorkingDir, the
 * user resolved in the image, Labels as annotations; everything else is
 * what `bunc spec` writes (src/spec/default.ts).
 */
import { existsSync } from "node:fs";
import { BuncError } from "../errors";
import { defaultSpec } from "../spec/default";
import type { ImageConfig } from "./manifest";
import { resolveUser, type ResolvedUser } from "./user";

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What the command line may change over the image's own config (image run's flags). */
export interface Overrides {
  /** Replaces Cmd (the Entrypoint stays, as with docker and podman). */
  command?: string[];
  env?: string[];
  cwd?: string;
  user?: string;
  terminal?: boolean;
  /** "host" leaves out the network namespace; "none" (the default) has a loopback of its own. */
  network?: "none" | "host";
  mounts?: { source: string; destination: string; readonly: boolean }[];
  /** No Entrypoint, Cmd or command: `bunc spec`'s "sh" rather than an error (image unpack). */
  defaultCommand?: boolean;
  /** The root stays writable (a fresh overlay upper per run) unless the caller says otherwise. */
  readonlyRoot?: boolean;
}

/** Set K=V in env, replacing an earlier K. */
function setEnv(env: string[], kv: string): string[] {
  const key = kv.split("=", 1)[0]!;
  return [...env.filter((e) => e.split("=", 1)[0] !== key), kv];
}

/** The config.json for an image whose rootfs is at rootfs (for the user lookup). */
export function runtimeConfig(image: ImageConfig, rootfs: string, o: Overrides = {}): Record<string, unknown> {
  const spec = defaultSpec() as Record<string, any>;
  const c = image.config ?? {};
  const entrypoint = c.Entrypoint ?? [];
  let args = [...entrypoint, ...(o.command && o.command.length ? o.command : (c.Cmd ?? []))];
  if (args.length === 0 && o.defaultCommand) args = spec.process.args;
  if (args.length === 0) throw new BuncError("the image has no Entrypoint or Cmd: give a command", { code: "EINVAL" });
  let env: string[] = [];
  for (const kv of c.Env ?? []) env = setEnv(env, kv);
  if (!env.some((e) => e.startsWith("PATH="))) env = [DEFAULT_PATH, ...env];
  if (o.terminal) env = setEnv(env, "TERM=xterm");
  for (const kv of o.env ?? []) {
    if (!kv.includes("=")) throw new BuncError(`-e ${JSON.stringify(kv)}: want KEY=VALUE`, { code: "EINVAL" });
    env = setEnv(env, kv);
  }
  const user: ResolvedUser = resolveUser(rootfs, o.user ?? c.User);
  spec.process = {
    ...spec.process,
    terminal: o.terminal ?? false,
    user,
    args,
    env,
    cwd: o.cwd ?? (c.WorkingDir || "/"),
  };
  if (!spec.process.cwd.startsWith("/")) throw new BuncError(`working directory ${JSON.stringify(spec.process.cwd)} is not absolute`, { code: "EINVAL" });
  spec.root = { path: "rootfs", readonly: o.readonlyRoot ?? false };
  if (o.network === "host") {
    spec.linux.namespaces = spec.linux.namespaces.filter((ns: { type: string }) => ns.type !== "network");
    // The host's network wants the host's name resolution, as docker and podman give it (read-only here).
    for (const f of ["/etc/resolv.conf", "/etc/hosts"])
      if (existsSync(f)) spec.mounts.push({ destination: f, type: "bind", source: f, options: ["rbind", "ro"] });
  }
  for (const m of o.mounts ?? [])
    spec.mounts.push({ destination: m.destination, type: "bind", source: m.source, options: ["rbind", m.readonly ? "ro" : "rw"] });
  const labels = c.Labels ?? {};
  if (Object.keys(labels).length) spec.annotations = { ...labels };
  if (c.StopSignal) spec.annotations = { ...spec.annotations, "org.opencontainers.image.stopSignal": c.StopSignal };
  return spec;
}
