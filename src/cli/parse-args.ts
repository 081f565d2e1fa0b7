/**
 * util.parseArgs for citty, without loading node:util.
 *
 * citty parses every command line with node:util's parseArgs, and loading
 * Bun's node:util (it brings util.inspect and friends) costs ~0.7 ms of
 * every bunc command, measured in the compiled executable — a tenth of a
 * `state`. scripts/build.ts points citty's `node:util` import here. This is
 * the part of Node's algorithm that citty uses (lib/internal/util/parse_args:
 * strict false, allowPositionals, options of type boolean or string with
 * short and default, no multiple, no tokens); test/unit/parse-args.test.ts
 * checks it against node:util on many command lines.
 */

export interface OptionConfig {
  type: "boolean" | "string";
  short?: string;
  default?: string | boolean;
  multiple?: boolean;
}

export interface ParseArgsConfig {
  args?: readonly string[];
  options?: Record<string, OptionConfig>;
  strict?: boolean;
  allowPositionals?: boolean;
}

export interface Parsed {
  values: Record<string, string | boolean>;
  positionals: string[];
}

export function parseArgs(config: ParseArgsConfig): Parsed {
  const options = config.options ?? {};
  if (config.strict !== false || config.allowPositionals !== true || Object.values(options).some((o) => o.multiple))
    throw new Error("bunc's parseArgs implements only { strict: false, allowPositionals: true } without multiple");
  const isString = (name: string) => Object.hasOwn(options, name) && options[name]!.type === "string";
  const longFor = (short: string) => {
    for (const name of Object.keys(options)) if (options[name]!.short === short) return name;
    return short;
  };
  const values: Parsed["values"] = Object.create(null);
  const positionals: string[] = [];
  const store = (name: string, value: string | undefined) => {
    if (name !== "__proto__") values[name] = value ?? true;
  };

  const rest = [...(config.args ?? [])];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      positionals.push(...rest);
      break;
    }
    if (arg.length === 2 && arg[0] === "-" && arg[1] !== "-") {
      // -f, taking the next argument (whatever it looks like) when f is a string option.
      const name = longFor(arg[1]!);
      store(name, isString(name) && rest.length > 0 ? rest.shift() : undefined);
      continue;
    }
    if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
      const name = longFor(arg[1]!);
      if (isString(name)) {
        // -fVALUE
        store(name, arg.slice(2));
        continue;
      }
      // -abc: -a -b -c, where a string option takes the rest of the group as its value.
      const expanded: string[] = [];
      for (let i = 1; i < arg.length; i++) {
        const short = arg[i]!;
        if (!isString(longFor(short)) || i === arg.length - 1) expanded.push(`-${short}`);
        else {
          expanded.push(`-${arg.slice(i)}`);
          break;
        }
      }
      rest.unshift(...expanded);
      continue;
    }
    if (arg.length > 2 && arg.startsWith("--")) {
      const eq = arg.indexOf("=", 3);
      if (eq < 0) {
        // --name, taking the next argument when name is a string option.
        const name = arg.slice(2);
        store(name, isString(name) && rest.length > 0 ? rest.shift() : undefined);
      } else {
        store(arg.slice(2, eq), arg.slice(eq + 1));
      }
      continue;
    }
    positionals.push(arg);
  }

  for (const [name, option] of Object.entries(options))
    if (option.default !== undefined && values[name] === undefined) values[name] = option.default;
  return { values, positionals };
}
