/**
 * A newcomer's first contact (issue 13): help for bunc and each verb from the
 * verbs' own definitions, runc's words for a missing argument, the man pages
 * and completions the build generates from the same definitions, the install
 * script, and the demo refusing to pretend.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, integrationSkipReason, REPO, RUNC, Sandbox, sh } from "../harness";

const skip = integrationSkipReason();
if (skip) console.warn(`skipping the help and install tests: ${skip}`);
const VERBS = ["checkpoint", "create", "delete", "events", "exec", "features", "image", "kill", "list", "pause", "ps", "restore", "resume", "run", "spec", "start", "state", "update"];
const has = (cmd: string) => sh(["sh", "-c", `command -v ${cmd}`]).code === 0;

describe.skipIf(!!skip)("help, man pages, completions, install", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("`bunc help VERB` is the verb's help, the same as `VERB --help`, for every verb; `bunc help` is bunc's", () => {
    for (const verb of VERBS) {
      const viaHelp = sb.bunc(["help", verb]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toStartWith(`bunc ${verb} - `);
      expect(sb.bunc([verb, "--help"])).toEqual(viaHelp);
      expect(sb.bunc([verb, "-h"])).toEqual(viaHelp);
    }
    expect(sb.bunc(["help"])).toEqual(sb.bunc(["--help"]));
    const unknown = sb.bunc(["help", "nope"]);
    expect(unknown.code).toBe(3); // runc's code for an unknown command
    expect(unknown.stderr).toBe('bunc: unknown command "nope"\n');
  });

  test("help text: no trailing spaces, each section's descriptions start in one column", () => {
    for (const argv of [["--help"], ...VERBS.map((v) => [v, "--help"])]) {
      const text = sb.bunc(argv).stdout;
      expect(text, argv.join(" ")).not.toMatch(/[ \t]$/m);
      expect(text).not.toMatch(/\x1b\[/);
      for (const section of text.split("\n\n").filter((s) => /^(Options|Arguments|Commands|Global options).*:\n/.test(s))) {
        const rows = section.split("\n").slice(1).filter(Boolean);
        const columns = new Set(rows.map((r) => /^  \S.*?\S   +(?=\S)/.exec(r)?.[0].length));
        expect(columns.size, `${argv.join(" ")}: ${section}`).toBe(1);
      }
    }
  });

  test("exec's synopsis shows the command after the id; kill's signal is optional", () => {
    expect(sb.bunc(["exec", "--help"]).stdout).toContain("Usage: bunc exec [OPTIONS] <ID> <COMMAND> [ARGS…]\n");
    expect(sb.bunc(["kill", "--help"]).stdout).toContain("Usage: bunc kill [OPTIONS] <ID> [SIGNAL]\n");
  });

  test("a missing container id: runc's words and exit code 1, in one line (never citty's 'Missing required positional argument')", () => {
    for (const [verb, words] of [["start", '"start" requires exactly 1 argument(s)'], ["state", '"state" requires exactly 1 argument(s)'], ["exec", '"exec" requires a minimum of 1 argument(s)'], ["kill", '"kill" requires a minimum of 1 argument(s)']] as const) {
      const r = sb.bunc([verb]);
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stderr).toStartWith(`bunc: ${words}: bunc ${verb} `);
      if (RUNC && verb !== "kill") {
        const runc = sh([RUNC, verb]);
        expect(runc.code).toBe(1);
        expect(runc.stderr.replace(/\\"/g, '"')).toContain(words);
      }
    }
    // A flag's value is not the id.
    expect(sb.bunc(["delete", "--force"]).stderr).toStartWith('bunc: "delete" requires exactly 1 argument(s)');
    expect(sb.bunc(["exec", "--cwd", "/tmp"]).stderr).toStartWith('bunc: "exec" requires a minimum of 1 argument(s)');
  });

  test("the build writes a man page for bunc and each verb, documenting every flag the help shows", () => {
    const man = path.join(REPO, "dist/man/man1");
    const IMAGE = ["run", "unpack", "ls", "prune"];
    expect(readdirSync(man).sort()).toEqual(["bunc.1", ...VERBS.map((v) => `bunc-${v}.1`), ...IMAGE.map((s) => `bunc-image-${s}.1`)].sort());
    for (const sub of IMAGE) {
      const page = readFileSync(path.join(man, `bunc-image-${sub}.1`), "utf8");
      expect(page).toStartWith(`.TH BUNC-IMAGE-${sub.toUpperCase()} 1 `);
      for (const flag of sb.bunc(["image", sub, "--help"]).stdout.matchAll(/^  (?:-\w, )?--([\w-]+)/gm)) expect(page, `image ${sub} --${flag[1]}`).toContain(`\\-\\-${flag[1]!.replace(/-/g, "\\-")}`);
    }
    for (const verb of VERBS) {
      const page = readFileSync(path.join(man, `bunc-${verb}.1`), "utf8");
      expect(page).toStartWith(`.TH BUNC-${verb.toUpperCase()} 1 `);
      for (const flag of sb.bunc([verb, "--help"]).stdout.matchAll(/^  (?:-\w, )?--([\w-]+)/gm)) expect(page, `${verb} --${flag[1]}`).toContain(`\\-\\-${flag[1]!.replace(/-/g, "\\-")}`);
    }
    if (has("man")) {
      const r = sh(["man", "-l", path.join(man, "bunc-exec.1")], { env: { ...process.env, MANPAGER: "cat", PAGER: "cat", MANWIDTH: "200" } as Record<string, string> });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("--console-socket");
    } else console.warn("man(1) is not installed: the rendering of the pages is not checked");
  });

  test("bash completion completes verbs, a verb's flags and container ids", () => {
    const id = sb.id();
    expect(sb.bunc(["create", "-b", sb.bundle(["sleep", "30"]), id]).code).toBe(0);
    const complete = (words: string[]) => {
      const script = `source ${path.join(REPO, "dist/completions/bunc.bash")}; bunc() { ${BUNC} --root ${sb.root} "$@"; }; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _bunc; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = sh(["bash", "-c", script]);
      expect(r.code).toBe(0);
      return r.stdout.trim().split("\n");
    };
    expect(complete(["bunc", "ex"])).toEqual(["exec"]);
    expect(complete(["bunc", "--root", "/x", "sta"]).sort()).toEqual(["start", "state"]);
    expect(complete(["bunc", "exec", "--cw"])).toEqual(["--cwd"]);
    expect(complete(["bunc", "kill", id.slice(0, 3)])).toContain(id);
  });

  test("zsh and fish load their completions without a syntax error", () => {
    for (const [shell, file, check] of [["zsh", "_bunc", ["zsh", "-n"]], ["fish", "bunc.fish", ["fish", "--no-execute"]]] as const) {
      if (!has(shell)) {
        console.warn(`${shell} is not installed: its completion is not checked (scripts/install-deps.sh installs it)`);
        continue;
      }
      const r = sh([...check, path.join(REPO, "dist/completions", file)]);
      expect(r.stderr, shell).toBe("");
      expect(r.code).toBe(0);
    }
  });

  test("scripts/install.sh PREFIX installs the executable, man pages and completions; a stripped bunc is refused", () => {
    const prefix = path.join(sb.dir, "prefix");
    const r = sh(["bash", path.join(REPO, "scripts/install.sh"), prefix]);
    expect(r.code).toBe(0);
    expect(sh([path.join(prefix, "bin/bunc"), "--version"]).stdout).toStartWith("bunc version ");
    for (const f of ["share/man/man1/bunc.1", "share/man/man1/bunc-run.1", "share/bash-completion/completions/bunc", "share/zsh/site-functions/_bunc", "share/fish/vendor_completions.d/bunc.fish"])
      expect(existsSync(path.join(prefix, f)), f).toBe(true);
    // strip(1) removes the section a compiled Bun executable keeps its code in: what is left is plain Bun.
    const fake = path.join(sb.dir, "stripped-repo");
    mkdirSync(path.join(fake, "scripts"), { recursive: true });
    mkdirSync(path.join(fake, "dist"), { recursive: true });
    copyFileSync(path.join(REPO, "scripts/install.sh"), path.join(fake, "scripts/install.sh"));
    copyFileSync(BUNC, path.join(fake, "dist/bunc"));
    chmodSync(path.join(fake, "dist/bunc"), 0o755);
    expect(sh(["strip", path.join(fake, "dist/bunc")]).code).toBe(0);
    const refused = sh(["bash", path.join(fake, "scripts/install.sh"), path.join(sb.dir, "prefix2")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("was it stripped?");
    expect(existsSync(path.join(sb.dir, "prefix2/bin/bunc"))).toBe(false);
  });

  test("scripts/demo.sh run by a non-root user fails loudly (exit 1, the reason), never 'exit 0'", () => {
    const r = sh(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "bash", path.join(REPO, "scripts/demo.sh")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run it as root");
  });

  test("npm's scripts are the README's commands", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8"));
    expect(pkg.scripts.test).toBe("bash scripts/test.sh");
    expect(pkg.scripts.build).toBe("bun scripts/build.ts");
    for (const script of ["scripts/test.sh", "scripts/build.ts"]) expect(existsSync(path.join(REPO, script))).toBe(true);
  });
});
