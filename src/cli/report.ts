/**
 * Printing an error exactly once: one line on stderr ("bunc: …"), and, with
 * --log, one line appended to the log file in the chosen format — JSON
 * {"level":"error","msg":…,"time":…} that containerd and podman read back.
 */
import { appendFileSync } from "node:fs";
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

/** Append one entry to the --log file, if there is one. */
export function writeLog(level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (!globals.log) return;
  try {
    appendFileSync(globals.log, logLine(level, msg) + "\n");
  } catch {
    // The log is best effort; stderr already has the message.
  }
}

/** Report a warning: "bunc: warning: …" on stderr, and the log file. */
export function reportWarning(msg: string): void {
  err(`bunc: warning: ${messageOf(msg)}\n`);
  writeLog("warning", messageOf(msg));
}
