/**
 * Helpers for the exec-*.test.ts and terminal-*.test.ts integration tests:
 * the receiving end of --console-socket / --pidfd-socket (a python3 script,
 * since Bun has no recvmsg), a long-running bunc container to exec into, and
 * small probes of a process seen from inside.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { posix as path } from "node:path";
import { BUNC, type Result, Sandbox } from "../harness";
import { show } from "./container-helpers";

const RECEIVER = path.join(import.meta.dir, "fixtures/fd-receiver.py");
export const PYTHON = ["/usr/bin/python3", "/bin/python3"].find((p) => existsSync(p));

/** A unix socket listener that receives one fd (see fixtures/fd-receiver.py). */
export class FdReceiver {
  private constructor(
    readonly socket: string,
    private proc: ReturnType<typeof Bun.spawn>,
    private lines: AsyncIterator<string>,
  ) {}

  /** Listen at a fresh path in dir; resolves once the socket exists. */
  static async start(dir: string, mode: "pidfd" | "console", extra: string[] | "kill" | "" = ""): Promise<FdReceiver> {
    if (!PYTHON) throw new Error("python3 is not installed");
    const socket = path.join(dir, `sock-${Math.random().toString(36).slice(2)}`);
    const proc = Bun.spawn([PYTHON, RECEIVER, socket, mode, Array.isArray(extra) ? JSON.stringify(extra) : extra], { stdout: "pipe", stderr: "inherit" });
    const lines = readLines(proc.stdout as ReadableStream<Uint8Array>);
    const first = await lines.next();
    if (first.value !== "ready") throw new Error(`fd receiver did not start: ${String(first.value)}`);
    return new FdReceiver(socket, proc, lines);
  }

  /** What the receiver got (one JSON object), or undefined if it did not finish within timeoutMs. */
  async result(timeoutMs = 20_000): Promise<Record<string, any> | undefined> {
    const timer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs));
    const line = await Promise.race([this.lines.next().then((r) => r.value as string | undefined), timer]);
    this.stop();
    return line ? JSON.parse(line) : undefined;
  }

  stop(): void {
    this.proc.kill(9);
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

/**
 * Run a bunc command without blocking the test's event loop (while a
 * receiver talks to it). Output goes to files: a detached process may keep
 * them open.
 */
export async function buncAsync(sb: Sandbox, args: string[], timeoutMs = 30_000): Promise<Result> {
  const base = path.join(sb.dir, `async-${Math.random().toString(36).slice(2)}`);
  const out = openSync(`${base}.out`, "w+");
  const err = openSync(`${base}.err`, "w+");
  try {
    const proc = Bun.spawn([BUNC, "--root", sb.root, ...args], { stdin: "ignore", stdout: out, stderr: err });
    const timer = setTimeout(() => proc.kill(9), timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    return { code, stdout: readFileSync(`${base}.out`, "utf8"), stderr: readFileSync(`${base}.err`, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(`${base}.out`, { force: true });
    rmSync(`${base}.err`, { force: true });
  }
}

/** Assert-friendly: throw with the whole result when a command failed. */
export function ok(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`${what} failed: ${show(r)}`);
  return r;
}

/** Whether a process is alive (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return false;
  }
}
