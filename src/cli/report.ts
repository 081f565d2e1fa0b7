/**
 * Printing an error exactly once: one line on stderr ("bunc: …"), and, with
 * --log, one line appended to the log file in the chosen format — JSON
 * {"level":"error","msg":…,"time":…} that containerd and podman read back.
 */
import { appendFileSync } from "node:fs";
import { globals } from "./globals";

/** The one-line message of any thrown value, without terminal colours. */
export function messageOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\x1b\[[0-9;]*m/g, "").replace(/\s*\n\s*/g, " ").trim();
}

/** Report an error to stderr and the log file. */
export function reportError(e: unknown): void {
  const msg = messageOf(e);
  process.stderr.write(`bunc: ${msg}\n`);
  writeLog("error", msg);
}

/** Append one entry to the --log file, if there is one. */
export function writeLog(level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (!globals.log) return;
  const time = new Date().toISOString();
  const line = globals.logFormat === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(globals.log, line + "\n");
  } catch {
    // The log is best effort; stderr already has the message.
  }
}

/** Report a warning: "bunc: warning: …" on stderr, and the log file. */
export function reportWarning(msg: string): void {
  process.stderr.write(`bunc: warning: ${messageOf(msg)}\n`);
  writeLog("warning", messageOf(msg));
}
