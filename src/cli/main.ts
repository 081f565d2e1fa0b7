/**
 * bunc's entry point: global flags, then one verb. Each verb's module is
 * imported only when it runs, so `state` never loads the C executor and
 * `--version` loads nothing. Errors are printed here, once.
 */
import { defineCommand, renderUsage, runCommand, type ArgsDef, type CommandDef } from "citty";
import { checkFlags, checkLastFlagValue } from "./args";
import { BuncError } from "../errors";
import { VERSION, SPEC_VERSION } from "../version";
import { globalArgs, parseGlobals, setGlobals } from "./globals";
import { openLog, reportError } from "./report";
import { out } from "./output";

const verbs: Record<string, () => Promise<CommandDef<any>>> = {
  checkpoint: () => import("./checkpoint").then((m) => m.default),
  create: () => import("./create").then((m) => m.default),
  delete: () => import("./delete").then((m) => m.default),
  events: () => import("./events").then((m) => m.default),
  exec: () => import("./exec").then((m) => m.default),
  features: () => import("./features").then((m) => m.default),
  kill: () => import("./kill").then((m) => m.default),
  list: () => import("./list").then((m) => m.default),
  pause: () => import("./pause").then((m) => m.default),
  ps: () => import("./ps").then((m) => m.default),
  restore: () => import("./restore").then((m) => m.default),
  resume: () => import("./resume").then((m) => m.default),
  run: () => import("./run").then((m) => m.default),
  spec: () => import("./spec").then((m) => m.default),
  start: () => import("./start").then((m) => m.default),
  state: () => import("./state").then((m) => m.default),
  update: () => import("./update").then((m) => m.default),
};

/** The top-level command, for --help (main runs the verb itself, see cli()). */
const main = defineCommand({
  meta: { name: "bunc", version: VERSION, description: "an OCI container runtime, a drop-in replacement for runc" },
  args: globalArgs,
  subCommands: verbs,
});

/** citty's usage text, without colours unless stdout is a terminal. */
async function usage(cmd: CommandDef<any>, parent?: CommandDef<any>): Promise<string> {
  const text = await renderUsage(cmd, parent);
  const { isatty } = await import("node:tty");
  return (isatty(1) ? text : text.replace(/\x1b\[[0-9;]*m/g, "")) + "\n";
}

function versionText(): string {
  return `bunc version ${VERSION}\nspec: ${SPEC_VERSION}\nbun: ${Bun.version}\n`;
}

/** Where the verb's name stands in argv, skipping global flags and their values. */
function verbIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) return i;
    const name = a.replace(/^--?/, "");
    const def = (globalArgs as Record<string, { type: string }>)[name];
    if (def?.type === "string" && !a.includes("=")) i++;
  }
  return -1;
}

async function cli(argv: string[]): Promise<number> {
  const at = verbIndex(argv);
  const before = at < 0 ? argv : argv.slice(0, at);
  const verb = at < 0 ? undefined : argv[at];
  // Global flags are parsed from what stands before the verb only, so a verb's
  // own flag of the same name (spec --rootless) is never taken for one.
  checkFlags(before, globalArgs);
  const flags = parseGlobals(before);
  if (flags.version === true) {
    out(versionText());
    return 0;
  }
  if (verb === undefined || verb === "help" || flags.help === true) {
    out(await usage(main));
    return 0;
  }
  if (!(verb in verbs)) {
    reportError(new BuncError(`unknown command ${JSON.stringify(verb)}`, { code: "EINVAL" }));
    return 3; // runc's exit code for an unknown command
  }
  const rest = argv.slice(at + 1);
  // --help counts only before the first positional: `exec ID ls --help` is ls's.
  const flagsBefore = rest.slice(0, rest.findIndex((a) => !a.startsWith("-")) >>> 0);
  if (flagsBefore.includes("--help") || flagsBefore.includes("-h")) {
    out(await usage(await verbs[verb]!(), main));
    return 0;
  }
  setGlobals(flags);
  openLog();
  process.exitCode = 0;
  const command = await verbs[verb]!();
  checkLastFlagValue(rest, (command.args ?? {}) as ArgsDef);
  await runCommand(command, { rawArgs: rest });
  return Number(process.exitCode ?? 0);
}

// No top-level await: the executable is compiled with --bytecode, which needs CommonJS.
cli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    reportError(e);
    process.exit(1);
  },
);
