/** The caller's terminal, for `run` with process.terminal: raw mode and window size (termios(3), ioctl_tty(2)). */
import { rawSyscall } from "./libc";

const SYS_ioctl = 16;
const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

/**
 * Put fd's terminal in raw mode (as cfmakeraw(3)) but for output processing,
 * as runc's: the container's pty has ONLCR off, so this terminal turns its
 * "\n" into "\r\n". Returns a function that restores it, or undefined if fd is no terminal.
 */
export function makeRaw(fd: number): (() => void) | undefined {
  const saved = new Uint8Array(60); // struct termios
  if (rawSyscall(SYS_ioctl, fd, TCGETS, saved) < 0) return undefined;
  const raw = saved.slice();
  const v = new DataView(raw.buffer);
  const IGNBRK = 1, BRKINT = 2, PARMRK = 8, ISTRIP = 0o40, INLCR = 0o100, IGNCR = 0o200, ICRNL = 0o400, IXON = 0o2000;
  const ECHO = 0o10, ECHONL = 0o100, ICANON = 2, ISIG = 1, IEXTEN = 0o100000, CSIZE = 0o60, PARENB = 0o400, CS8 = 0o60;
  v.setUint32(0, v.getUint32(0, true) & ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON), true);
  v.setUint32(12, v.getUint32(12, true) & ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN), true);
  v.setUint32(8, (v.getUint32(8, true) & ~(CSIZE | PARENB)) | CS8, true);
  rawSyscall(SYS_ioctl, fd, TCSETS, raw);
  return () => void rawSyscall(SYS_ioctl, fd, TCSETS, saved);
}

/** Copy the window size of terminal `from` to `to`; false if `from` is no terminal. */
export function copyWindowSize(from: number, to: number): boolean {
  const ws = new Uint16Array(4);
  if (rawSyscall(SYS_ioctl, from, TIOCGWINSZ, ws) < 0) return false;
  rawSyscall(SYS_ioctl, to, TIOCSWINSZ, ws);
  return true;
}

/** Whether fd is a terminal (isatty(3)). */
export function isTerminal(fd: number): boolean {
  return rawSyscall(SYS_ioctl, fd, TCGETS, new Uint8Array(60)) >= 0;
}

/** The end-of-file character (c_cc[VEOF], ^D by default) of the terminal behind fd; a pty master reports its slave's. */
export function eofCharOf(fd: number): number {
  const t = new Uint8Array(60); // struct termios: 4 flag words, c_line, then c_cc[], VEOF = 4
  return rawSyscall(SYS_ioctl, fd, TCGETS, t) < 0 ? 4 : t[17 + 4]!;
}
