import { defineCommand } from "citty";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { runImage } from "../image/run";
import { store } from "./args";
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
  const out: Parsed = { image: "", command: [], env: [], volume: [], values: {}, bools: {} };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") { i++; break; }
    if (!a.startsWith("-") || a === "-") break;
    const [rawName, inline] = a.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const name = ALIASES[rawName] ?? rawName;
    const def = (args as Record<string, { type: string }>)[name];
    if (!def || def.type === "positional") throw new BuncError(`flag provided but not defined: -${rawName}`, { code: "EINVAL" });
    if (def.type === "boolean") {
      out.bools[name] = inline === undefined ? true : inline === "true";
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new BuncError(`flag needs an argument: -${rawName}`, { code: "EINVAL" });
    if (name === "env" || name === "volume") out[name].push(value);
    else out.values[name] = value;
  }
  out.image = argv[i] ?? "";
  out.command = argv.slice(i + 1);
  if (out.command[0] === "--") out.command.shift();
  if (!out.image) throw new BuncError("image run: an image is required (oci-archive:PATH[:TAG], oci:DIR[:TAG] or docker-archive:PATH[:REF])", { code: "EINVAL" });
  return out;
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
