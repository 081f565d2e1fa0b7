/**
 * bunc's entry point: global flags, then one verb. Each verb's module is
 * imported only when it runs, so `state` never loads the C executor and
 * `--version` loads nothing. Errors are printed here, once.
 */
import { runCommand, type ArgsDef, type CommandDef } from "citty";
import { checkFlags, checkLastFlagValue, checkPositionals } from "./args";
import { commandText, helpText, type CommandText } from "./help";
import { BUNC_DESCRIPTION, verbs } from "./verbs";
import { BuncError } from "../errors";
import { COMMIT, SPEC_VERSION, VERSION } from "../version";
import { globalArgs, parseGlobals, setGlobals } from "./globals";
import { openLog, reportError } from "./report";
import { out } from "./output";

/** The top-level command: its description and global flags, for help. */
const main: CommandText = { name: "bunc", description: BUNC_DESCRIPTION, args: globalArgs as ArgsDef };

/** Help for bunc (every verb's description, so each verb module is loaded) or one verb. */
async function help(verb?: string): Promise<string> {
  if (verb === undefined) return helpText(main, undefined, await Promise.all(Object.values(verbs).map(async (load) => commandText(await load()))));
  const def = await verbs[verb]!();
  return helpText(commandText(def), main, def.subCommands ? await subcommandTexts(def) : undefined);
}

/** The texts of a verb's subcommands (bunc image run, …), each module loaded. */
async function subcommandTexts(def: CommandDef<any>): Promise<CommandText[]> {
  const subs = def.subCommands as Record<string, () => Promise<CommandDef<any>>>;
  return Promise.all(Object.values(subs).map(async (load) => commandText(await load())));
}

/** A verb with subcommands (image): help, then the same checks as a verb's, then the subcommand. */
async function subcommand(verb: string, def: CommandDef<any>, rest: string[]): Promise<number> {
  const subs = def.subCommands as Record<string, () => Promise<CommandDef<any>>>;
  const [name, ...args] = rest;
  if (name === "help" && args[0] === undefined) {
    out(await help(verb));
    return 0;
  }
  const which = name === "help" ? args[0] : name;
  if (which === undefined || !(which in subs)) {
    reportError(new BuncError(which === undefined ? `"${verb}" requires a command: ${Object.keys(subs).join(", ")}` : `unknown command ${JSON.stringify(`${verb} ${which}`)}`, { code: "EINVAL" }));
    return 3;
  }
  const sub = await subs[which]!();
  const parent: CommandText = { name: `bunc ${verb}`, description: "", args: {} };
  const flagsBefore = args.slice(0, args.findIndex((a) => !a.startsWith("-")) >>> 0);
  if (name === "help" || flagsBefore.includes("--help") || flagsBefore.includes("-h")) {
    out(helpText(commandText(sub), parent));
    return 0;
  }
  checkLastFlagValue(args, (sub.args ?? {}) as ArgsDef);
  checkPositionals(`${verb} ${which}`, args, (sub.args ?? {}) as ArgsDef);
  await runCommand(sub, { rawArgs: args });
  return Number(process.exitCode ?? 0);
}

function versionText(): string {
  // runc's lines and order (version.bats checks the first three); bun: where runc says go:.
  return `bunc version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nbun: ${Bun.version}\n`;
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
  // `bunc help VERB` as runc's: that verb's help (an unknown VERB is an unknown command).
  const helpFor = verb === "help" ? argv[at + 1] : undefined;
  if (helpFor === undefined && (verb === undefined || verb === "help" || flags.help === true)) {
    out(await help());
    return 0;
  }
  if (helpFor !== undefined && helpFor in verbs) {
    out(await help(helpFor));
    return 0;
  }
  if (helpFor !== undefined || !(verb! in verbs)) {
    reportError(new BuncError(`unknown command ${JSON.stringify(helpFor ?? verb)}`, { code: "EINVAL" }));
    return 3; // runc's exit code for an unknown command
  }
  const name = verb!;
  const rest = argv.slice(at + 1);
  // --help counts only before the first positional: `exec ID ls --help` is ls's.
  const flagsBefore = rest.slice(0, rest.findIndex((a) => !a.startsWith("-")) >>> 0);
  if (flagsBefore.includes("--help") || flagsBefore.includes("-h")) {
    out(await help(name));
    return 0;
  }
  setGlobals(flags);
  openLog();
  process.exitCode = 0;
  const command = await verbs[name]!();
  if (command.subCommands) return subcommand(name, command, rest);
  checkLastFlagValue(rest, (command.args ?? {}) as ArgsDef);
  checkPositionals(name, rest, (command.args ?? {}) as ArgsDef);
  await runCommand(command, { rawArgs: rest });
  return Number(process.exitCode ?? 0);
}

cli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    reportError(e);
    process.exit(1);
  },
);
