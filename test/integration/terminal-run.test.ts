/**
 * Interactive `bunc run` with terminal: true and no console socket, driven
 * through tmux as a person at a terminal would: the container's shell sees
 * the caller's window size and follows a resize (SIGWINCH), the exit status
 * passes through, and the caller's terminal settings are restored.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { BUNC, integrationSkipReason, Sandbox, sh } from "../harness";

const TMUX = ["/usr/bin/tmux", "/bin/tmux"].find((p) => existsSync(p));
const skip = integrationSkipReason() ?? (TMUX ? undefined : "tmux is not installed");
if (skip) console.warn(`skipping interactive terminal tests: ${skip}`);

describe.skipIf(!!skip)("interactive run under tmux", () => {
  const sb = new Sandbox();
  const server = `bunc-test-${process.pid}`;
  const tmux = (...args: string[]) => sh([TMUX!, "-L", server, "-f", "/dev/null", ...args]);
  afterAll(() => {
    tmux("kill-server");
    sb.cleanup();
  });

  /** Wait until the pane shows text matching re; the pane's text. */
  const waitFor = (re: RegExp, ms = 10_000): string => {
    let text = "";
    for (const end = Date.now() + ms; Date.now() < end; Bun.sleepSync(50)) {
      text = tmux("capture-pane", "-p", "-t", "t").stdout;
      if (re.test(text)) return text;
    }
    throw new Error(`pane never showed ${re}:\n${text}`);
  };
  const paneSize = () => tmux("display", "-p", "-t", "t", "#{pane_height} #{pane_width}").stdout.trim();

  test("window size, resize, exit status and terminal restore", () => {
    const bundle = sb.bundle(["sh"], (c) => (c.process.terminal = true));
    const id = sb.id("tmux");
    const f = (n: string) => `${sb.dir}/${n}`;
    expect(tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sh").code).toBe(0);
    tmux("send-keys", "-t", "t", `stty -g > ${f("before")}; ${BUNC} --root ${sb.root} run -b ${bundle} ${id}; echo $? > ${f("rc")}; stty -g > ${f("after")}`, "Enter");
    waitFor(/^\/ #\s*$/m);
    tmux("send-keys", "-t", "t", "clear; stty size", "Enter");
    expect(waitFor(/^\d+ \d+\s*$/m)).toContain(paneSize());
    tmux("resize-window", "-t", "t", "-x", "80", "-y", "20");
    Bun.sleepSync(200);
    tmux("send-keys", "-t", "t", "clear; stty size", "Enter");
    const resized = paneSize();
    expect(resized).toMatch(/^\d+ 80$/);
    expect(waitFor(new RegExp(`^${resized}\\s*$`, "m"))).toContain(resized);
    tmux("send-keys", "-t", "t", "exit 7", "Enter");
    // The shell creates "after" before stty has written it: wait for its line.
    for (let i = 0; i < 200 && !(existsSync(f("after")) && readFileSync(f("after"), "utf8").endsWith("\n")); i++) Bun.sleepSync(50);
    expect(readFileSync(f("rc"), "utf8").trim()).toBe("7");
    expect(readFileSync(f("after"), "utf8")).toBe(readFileSync(f("before"), "utf8"));
  });
});
