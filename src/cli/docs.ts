/**
 * Man pages (roff, man(7) macros) and bash/zsh/fish completions, rendered
 * from the same command texts as `--help` (src/cli/help.ts). Pure: the build
 * (scripts/docs.ts) writes what these return.
 */
import { flagDescription, flagName, flags, positionals, synopsis, type CommandText } from "./help";

/** roff-escape a line of text: backslashes, leading dots and quotes, hyphens in flags. */
function roff(text: string): string {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/, "\\&$1");
}

/** One man page: bunc(1), bunc-VERB(1) when parent is given, bunc-VERB-SUB(1) when parent is "bunc VERB"; verbs: the commands it lists. */
export function manPage(cmd: CommandText, version: string, parent?: CommandText, verbs?: CommandText[]): string {
  const page = (parent ? `${parent.name}-${cmd.name}` : cmd.name).replace(/ /g, "-");
  const lines = [
    `.TH ${page.toUpperCase()} 1 "" "bunc ${version}" "bunc manual"`,
    ".SH NAME",
    `${roff(page)} \\- ${roff(cmd.description)}`,
    ".SH SYNOPSIS",
    `.B ${roff(synopsis(cmd, parent))}${verbs ? " COMMAND [COMMAND OPTIONS] [ARGUMENTS...]" : ""}`,
  ];
  const pos = positionals(cmd.args);
  if (pos.length > 0) {
    lines.push(".SH ARGUMENTS");
    for (const [name, a] of pos) lines.push(".TP", `.I ${roff(a.valueHint ?? name.toUpperCase())}`, roff(a.description ?? ""));
  }
  if (verbs) {
    lines.push(".SH COMMANDS");
    for (const v of verbs) lines.push(".TP", `.B ${roff(v.name)}`, `${roff(v.description)} (see \\fB${roff(page)}\\-${roff(v.name)}\\fR(1))`);
  }
  const f = flags(cmd.args);
  if (f.length > 0) {
    lines.push(parent ? ".SH OPTIONS" : ".SH GLOBAL OPTIONS");
    for (const [name, a] of f) lines.push(".TP", `.B ${roff(flagName(name, a))}`, roff(flagDescription(a)));
  }
  lines.push(".SH SEE ALSO", parent ? `\\fB${roff(parent.name.replace(/ /g, "-"))}\\fR(1)` : "\\fBrunc\\fR(8), the OCI runtime specification");
  return lines.join("\n") + "\n";
}

/** Every spelling of a command's flags: --name and its aliases. */
function spellings(cmd: CommandText): string[] {
  return flags(cmd.args).flatMap(([name, a]) => [`--${name}`, ...[(a as { alias?: string | string[] }).alias ?? []].flat().map((x) => (x.length === 1 ? `-${x}` : `--${x}`))]);
}

/** Flags that take a value (their next word is not completed as a flag). */
function valueFlags(cmd: CommandText): string[] {
  return flags(cmd.args).filter(([, a]) => a.type === "string").flatMap(([name, a]) => [`--${name}`, ...[(a as { alias?: string | string[] }).alias ?? []].flat().map((x) => (x.length === 1 ? `-${x}` : `--${x}`))]);
}

/** Verbs whose first positional is a container id: completed from `bunc list -q`. */
function takesId(cmd: CommandText): boolean {
  return positionals(cmd.args)[0]?.[0] === "id" && !["create", "run", "restore"].includes(cmd.name);
}

/** bash: `complete -F _bunc bunc`. */
export function bashCompletion(main: CommandText, verbs: CommandText[]): string {
  const cases = verbs.map((v) => `    ${v.name}) flags="${spellings(v).join(" ")}"; values="${valueFlags(v).join(" ")}"; ids=${takesId(v) ? 1 : 0} ;;`);
  return `# bash completion for bunc (generated from its command definitions)
_bunc() {
  local cur prev verb="" i flags values ids=0
  cur="\${COMP_WORDS[COMP_CWORD]}"; prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${valueFlags(main).join("|")}) ((i++)) ;;
      -*) ;;
      *) verb="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [ -z "$verb" ]; then
    case "$prev" in ${valueFlags(main).join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
    COMPREPLY=($(compgen -W "${verbs.map((v) => v.name).join(" ")} help ${spellings(main).join(" ")}" -- "$cur"))
    return
  fi
  case "$verb" in
${cases.join("\n")}
    help) COMPREPLY=($(compgen -W "${verbs.map((v) => v.name).join(" ")}" -- "$cur")); return ;;
    *) return ;;
  esac
  case " $values " in *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  if [ "$ids" = 1 ]; then COMPREPLY=($(compgen -W "$(bunc list -q 2>/dev/null)" -- "$cur")); fi
}
complete -F _bunc bunc
`;
}

/** zsh: an autoloadable _bunc. */
export function zshCompletion(main: CommandText, verbs: CommandText[]): string {
  const q = (s: string) => s.replace(/'/g, "'\\''").replace(/[[\]:]/g, "\\$&");
  const spec = (cmd: CommandText) => flags(cmd.args).map(([name, a]) => `'--${name}[${q(a.description ?? "")}]${a.type === "string" ? ":value:_files" : ""}'`);
  const cases = verbs.map((v) => `    ${v.name}) _arguments ${[...spec(v), takesId(v) ? "'1:container id:->ids'" : "'*:file:_files'"].join(" ")} ;;`);
  return `#compdef bunc
# zsh completion for bunc (generated from its command definitions)
_bunc() {
  local -a verbs
  verbs=(${verbs.map((v) => `'${v.name}:${q(v.description)}'`).join(" ")})
  local curcontext="$curcontext" state line
  _arguments -C ${spec(main).join(" ")} '1:command:->verb' '*::arg:->args'
  case $state in
    verb) _describe 'command' verbs ;;
    args)
      case $line[1] in
${cases.join("\n")}
      esac
      [[ $state == ids ]] && compadd -- $(bunc list -q 2>/dev/null) ;;
  esac
}
_bunc "$@"
`;
}

/** fish: complete -c bunc …. */
export function fishCompletion(main: CommandText, verbs: CommandText[]): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const flagLines = (cmd: CommandText, cond: string) =>
    flags(cmd.args).map(([name, a]) => {
      const short = [(a as { alias?: string | string[] }).alias ?? []].flat().find((x) => x.length === 1);
      return `complete -c bunc -n ${q(cond)} -l ${name}${short ? ` -s ${short}` : ""}${a.type === "string" ? " -r" : ""} -d ${q(a.description ?? "")}`;
    });
  const lines = ["# fish completion for bunc (generated from its command definitions)", "complete -c bunc -f"];
  lines.push(...flagLines(main, "__fish_use_subcommand"));
  for (const v of verbs) {
    lines.push(`complete -c bunc -n '__fish_use_subcommand' -a ${v.name} -d ${q(v.description)}`);
    lines.push(...flagLines(v, `__fish_seen_subcommand_from ${v.name}`));
    if (takesId(v)) lines.push(`complete -c bunc -n '__fish_seen_subcommand_from ${v.name}' -a '(bunc list -q 2>/dev/null)'`);
  }
  return lines.join("\n") + "\n";
}
