/** src/linux/signals.ts parseSignal: as runc's kill parses its signal argument, plus RTMIN+n. */
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors";
import { parseSignal } from "../../src/linux/signals";

describe("parseSignal: names", () => {
  test("with and without SIG", () => {
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("SIGKILL")).toBe(9);
    expect(parseSignal("TERM")).toBe(15);
    expect(parseSignal("SIGTERM")).toBe(15);
  });

  test("any case", () => {
    expect(parseSignal("kill")).toBe(9);
    expect(parseSignal("sigkill")).toBe(9);
    expect(parseSignal("SigHup")).toBe(1);
    expect(parseSignal("usr1")).toBe(10);
  });

  test("x86_64 numbers of signal(7)", () => {
    const table: Record<string, number> = {
      HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
      USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21,
      TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
    };
    for (const [name, n] of Object.entries(table)) expect({ name, n: parseSignal(name) }).toEqual({ name, n });
  });

  test("real-time signals: RTMIN+n and RTMAX-n (glibc's SIGRTMIN is 34)", () => {
    expect(parseSignal("RTMIN")).toBe(34);
    expect(parseSignal("RTMIN+3")).toBe(37);
    expect(parseSignal("SIGRTMIN+1")).toBe(35);
    expect(parseSignal("rtmin+2")).toBe(36);
    expect(parseSignal("RTMAX")).toBe(64);
    expect(parseSignal("RTMAX-1")).toBe(63);
    expect(parseSignal("RTMIN+30")).toBe(64);
  });
});

describe("parseSignal: numbers", () => {
  test("1 to 64", () => {
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("1")).toBe(1);
    expect(parseSignal("64")).toBe(64);
  });
});

describe("parseSignal: errors", () => {
  test('unknown name: unknown signal "FOO"', () => {
    expect(() => parseSignal("FOO")).toThrow(BuncError);
    expect(() => parseSignal("FOO")).toThrow('unknown signal "FOO"');
    expect(() => parseSignal("SIGFOO")).toThrow('unknown signal "SIGFOO"');
  });

  test("the message quotes the text as given", () => {
    expect(() => parseSignal("foo")).toThrow('unknown signal "foo"');
  });

  test("numbers are taken as they are, as runc does (the kernel refuses one out of range)", () => {
    expect(parseSignal("0")).toBe(0);
    expect(parseSignal("65")).toBe(65);
    expect(parseSignal("+9")).toBe(9);
    expect(parseSignal("-9")).toBe(-9);
  });

  test("real-time offsets out of range", () => {
    expect(() => parseSignal("RTMIN+31")).toThrow('unknown signal "RTMIN+31"');
    expect(() => parseSignal("RTMIN-1")).toThrow('unknown signal "RTMIN-1"');
    expect(() => parseSignal("RTMAX+1")).toThrow('unknown signal "RTMAX+1"');
  });

  test("empty and junk", () => {
    expect(() => parseSignal("")).toThrow('unknown signal ""');
    expect(() => parseSignal("9x")).toThrow('unknown signal "9x"');
    expect(() => parseSignal("KILL ")).toThrow('unknown signal "KILL "');
  });

  test("names inherited from Object.prototype are not signals", () => {
    expect(() => parseSignal("constructor")).toThrow('unknown signal "constructor"');
    expect(() => parseSignal("__proto__")).toThrow('unknown signal "__proto__"');
  });
});
