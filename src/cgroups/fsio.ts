/** Reading and writing cgroup files with errors that name the file and say what a missing file means. */
import { closeSync, constants, openSync, readFileSync, writeSync } from "node:fs";
import { BuncError } from "../errors";

/**
 * Opened without O_CREAT, as runc's WriteFile: a cgroupfs directory refuses to
 * create files (EACCES), which would hide that the file does not exist.
 */
const WRITE_FLAGS = constants.O_WRONLY | constants.O_TRUNC;

/** Write one value (no newline, one write(2), as the kernel wants it). */
export function writeCgroupFile(file: string, value: string): void {
  writeCgroupFileValues(file, [value]);
}

/**
 * Write several values to one file, one write(2) each through one open file
 * (v1's devices.allow/deny take one rule per write; a create writes a dozen).
 */
export function writeCgroupFileValues(file: string, values: readonly string[]): void {
  let fd: number;
  try {
    fd = openSync(file, WRITE_FLAGS);
  } catch (e) {
    throw writeError(file, values[0] ?? "", e);
  }
  try {
    for (const value of values) {
      try {
        writeSync(fd, value);
      } catch (e) {
        throw writeError(file, value, e);
      }
    }
  } finally {
    closeSync(fd);
  }
}

function writeError(file: string, value: string, e: unknown): BuncError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file or directory (the file does not exist: this kernel or cgroup lacks the controller or feature)" : (e as Error).message;
  return new BuncError(`write ${JSON.stringify(value)} to ${file}: ${why}`, { code: "CGROUP", cause: e });
}

/** The file's text, or undefined when it cannot be read. */
export function readCgroupFile(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, …) as bigints. */
export function keyValues(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^-?\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

/** A file holding one number ("max" → max, unreadable → 0n). */
export function readNumber(file: string, max = 0n): bigint {
  const t = readCgroupFile(file)?.trim();
  if (t === "max") return max;
  return t && /^-?\d+$/.test(t) ? BigInt(t) : 0n;
}

/** The pids listed in a cgroup.procs file. */
export function readProcs(file: string): number[] {
  return (readCgroupFile(file) ?? "").split("\n").filter(Boolean).map(Number);
}

/** Poll until check() holds or timeoutMs passes; returns whether it held. */
export function waitFor(check: () => boolean, timeoutMs: number): boolean {
  const end = performance.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    if (check()) return true;
    if (performance.now() > end) return false;
    Bun.sleepSync(delay);
  }
}
