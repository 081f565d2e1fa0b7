/**
 * Printing an error exactly once: one line on stderr ("bunc: …"), and, with
 * --log, one line appended to the log file in the chosen format — JSON
 * {"level":"error","msg":…,"time":…} that containerd and podman read back.
 * --debug lines go to the log file, or to stderr without one, in the same
 * format (runc's logrus: `time="…" level=debug msg="…"` or JSON).
 */
import { constants, openSync, writeSync } from "node:fs";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { globals } from "./globals";
import { err } from "./output";

/** The one-line message of any thrown value, without terminal colours. */
export function messageOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\x1b\[[0-9;]*m/g, "").replace(/\s*\n\s*/g, " ").trim();
}

/** Report an error to stderr and the log file. */
export function reportError(e: unknown): void {
  const msg = messageOf(e);
  // As runc: with --log-format json and no --log file, stderr is the log and gets the JSON line.
  if (globals.logFormat === "json" && !globals.log) err(logLine("error", msg) + "\n");
  else err(`bunc: ${msg}\n`);
  writeLog("error", msg);
}

function logLine(level: string, msg: string): string {
  const time = new Date().toISOString();
  return globals.logFormat === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
}

/** The --log file's fd once openLog has run (-1: none, or it could not be opened). */
let logFd = -1;

/**
 * Open (create) the --log file before the command runs, as runc does: it
 * exists afterwards even when nothing was logged, and a path that cannot be
 * opened is the command's error. Also turns --debug on.
 */
export function openLog(): void {
  if (globals.log) {
    try {
      logFd = openSync(globals.log, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message;
      throw new BuncError(`open ${globals.log}: ${why}`, { code: (e as NodeJS.ErrnoException).code ?? "EIO", cause: e });
    }
  }
  if (globals.debug) debug.log = reportDebug;
}

/** Append one entry to the --log file, if there is one. */
export function writeLog(level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (logFd < 0) return;
  try {
    writeSync(logFd, logLine(level, msg) + "\n");
  } catch {
    // The log is best effort; stderr already has the message.
  }
}

/** One --debug line: to the log file when there is one, else to stderr (never both, as runc). */
function reportDebug(msg: string): void {
  if (globals.log) writeLog("debug", messageOf(msg));
  else err(logLine("debug", messageOf(msg)) + "\n");
}

/** Report a warning: "bunc: warning: …" on stderr, and the log file. */
export function reportWarning(msg: string): void {
  err(`bunc: warning: ${messageOf(msg)}\n`);
  writeLog("warning", messageOf(msg));
}
