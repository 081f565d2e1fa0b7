import { defineCommand, type ArgsDef } from "citty";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { runImage } from "../image/run";
import { parseLeadingFlags, store } from "./args";
import { reportWarning } from "./report";

/** image run's flags (for --help; parsing is below: it stops at the image, the rest is the command). */
const args = {
  rm: { type: "boolean", description: "remove the run's upper directory when the container exits" },
  env: { type: "string", alias: "e", valueHint: "K=V", description: "set an environment variable (may be repeated)" },
  volume: { type: "string", alias: "v", valueHint: "SRC:DST[:ro]", description: "bind mount a host path (may be repeated)" },
  workdir: { type: "string", alias: "w", valueHint: "DIR", description: "working directory inside the container" },
  user: { type: "string", alias: "u", valueHint: "UID[:GID]", description: "user (and group) to run as: numbers, or names in the image's /etc/passwd and /etc/group" },
  network: { type: "string", valueHint: "none|host", description: "none: a network namespace with only loopback; host: the host's", default: "none" },
  tty: { type: "boolean", alias: "t", description: "allocate a pseudo-terminal" },
  name: { type: "string", valueHint: "ID", description: "the container's id (default: one made up)" },
  // Not "required" for citty: the parser below says what is missing, in bunc's words.
  image: { type: "positional", required: false, valueHint: "<IMAGE>", description: "oci-archive:PATH[:TAG], oci:DIR[:TAG] or docker-archive:PATH[:REF]" },
  command: { type: "positional", required: false, valueHint: "[COMMAND] [ARGS…]", description: "the command (replaces the image's Cmd; its Entrypoint stays)" },
} as const;

const ALIASES: Record<string, string> = { e: "env", v: "volume", w: "workdir", u: "user", t: "tty" };
const REPEATED = new Set(["env", "volume"]);

interface Parsed {
  image: string;
  command: string[];
  env: string[];
  volume: string[];
  values: Record<string, string>;
  bools: Record<string, boolean>;
}

/** Flags up to the image; everything after it is the command, flags included (an optional "--" first). */
export function parseImageRunArgs(argv: readonly string[]): Parsed {
  const f = parseLeadingFlags(argv, args as ArgsDef, ALIASES, REPEATED);
  if (!f.positional) throw new BuncError("image run: an image is required (oci-archive:PATH[:TAG], oci:DIR[:TAG] or docker-archive:PATH[:REF])", { code: "EINVAL" });
  const command = f.rest[0] === "--" ? f.rest.slice(1) : f.rest;
  return { image: f.positional, command, env: f.lists.env ?? [], volume: f.lists.volume ?? [], values: f.values, bools: f.bools };
}

function volume(v: string): { source: string; destination: string; readonly: boolean } {
  const parts = v.split(":");
  const ro = parts.length === 3 && parts[2] === "ro";
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !["ro", "rw"].includes(parts[2]!)) || !parts[0] || !parts[1]?.startsWith("/"))
    throw new BuncError(`-v ${JSON.stringify(v)}: want SRC:DST[:ro] with an absolute DST`, { code: "EINVAL" });
  return { source: path.resolve(parts[0]), destination: parts[1], readonly: ro };
}

export default defineCommand({
  meta: { name: "run", description: "run a command in an image and pass its exit status through" },
  args,
  async run({ rawArgs }) {
    const a = parseImageRunArgs(rawArgs);
    const network = a.values.network ?? "none";
    if (network !== "none" && network !== "host") throw new BuncError(`--network ${JSON.stringify(network)}: want none or host`, { code: "EINVAL" });
    process.exitCode = await runImage(store(), {
      reference: a.image,
      id: a.values.name,
      rm: a.bools.rm ?? false,
      command: a.command,
      env: a.env,
      mounts: a.volume.map(volume),
      cwd: a.values.workdir,
      user: a.values.user,
      network,
      terminal: a.bools.tty ?? false,
      onWarning: reportWarning,
    });
  },
});
