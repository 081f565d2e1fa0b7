/**
 * A blocking D-Bus connection to the system bus: SASL EXTERNAL
 * authentication, Hello, method calls that wait for their reply, and the
 * signals that arrive meanwhile kept for waitSignal. Blocking because bunc's
 * create runs its cgroup steps synchronously between clone and execve of the
 * container's process (src/container/launch.ts); every read has a timeout.
 *
 * The address is $DBUS_SYSTEM_BUS_ADDRESS or the well-known
 * unix:path=/run/dbus/system_bus_socket (D-Bus Specification: "Well-known
 * Message Bus Instances"); only unix:path= and unix:abstract= are understood.
 */
import { closeSync } from "node:fs";
import { BuncError } from "../../errors";
import { readFull, writeFull } from "../../linux/fs";
import { errnoError, rawSyscall } from "../../linux/libc";
import { connectUnix } from "../../linux/socket";
import { decodeMessage, encodeMessage, type Message, MessageType, messageLength } from "./wire";

const SYS_setsockopt = 54;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SYS_socket = 41;
const SYS_connect = 42;

export const SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";

/** A D-Bus error reply, by its name (org.freedesktop.systemd1.NoSuchUnit …). */
export class DBusError extends BuncError {
  constructor(readonly name: string, text: string) {
    super(`${name}: ${text}`, { code: "DBUS" });
  }
}

/** The socket of the first unix: entry of a D-Bus address (entries are ;-separated, keys , and =, values %-escaped). */
function connectAddress(address: string): number {
  for (const entry of address.split(";")) {
    const colon = entry.indexOf(":");
    if (entry.slice(0, colon) !== "unix") continue;
    const keys = new Map(entry.slice(colon + 1).split(",").map((kv) => {
      const eq = kv.indexOf("=");
      return [kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1))] as const;
    }));
    const file = keys.get("path");
    if (file) return connectUnix(file, "the D-Bus system bus at");
    const abstract = keys.get("abstract");
    if (abstract) return connectAbstract(abstract);
  }
  throw new BuncError(`D-Bus address ${JSON.stringify(address)}: no unix:path= or unix:abstract= entry`, { code: "DBUS" });
}

/** An abstract unix socket (unix(7): sun_path starts with a NUL byte). */
function connectAbstract(name: string): number {
  const bytes = new TextEncoder().encode(name);
  const addr = new Uint8Array(3 + bytes.length);
  addr[0] = 1; // AF_UNIX
  addr.set(bytes, 3);
  const fd = rawSyscall(SYS_socket, 1, 1 | 0o2000000, 0);
  if (fd < 0) throw errnoError("socket", -fd);
  const r = rawSyscall(SYS_connect, fd, addr, addr.length);
  if (r < 0) {
    closeSync(fd);
    throw errnoError(`connect to the D-Bus system bus at @${name}`, -r);
  }
  return fd;
}

export interface MethodCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

export class Bus {
  private serial = 0;
  private signals: Message[] = [];
  /** The unique name the bus gave us in Hello's reply. */
  name = "";

  private constructor(private fd: number, private timeoutMs: number) {}

  /** Connect, authenticate and say Hello; timeoutMs bounds every wait for the bus. */
  static connect(address = process.env.DBUS_SYSTEM_BUS_ADDRESS || SYSTEM_BUS, timeoutMs = 30_000): Bus {
    const fd = connectAddress(address);
    const bus = new Bus(fd, timeoutMs);
    try {
      const tv = new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1000)]);
      const r = rawSyscall(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
      if (r < 0) throw errnoError("setsockopt SO_RCVTIMEO on the D-Bus socket", -r);
      bus.authenticate();
      bus.name = String(bus.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello" })[0]);
      return bus;
    } catch (e) {
      bus.close();
      throw e;
    }
  }

  /**
   * SASL EXTERNAL (D-Bus Specification: "Authentication Protocol"): a NUL
   * byte first, then our uid in hex-encoded ASCII; the bus checks it against
   * the socket's peer credentials (SO_PEERCRED).
   */
  private authenticate(): void {
    const uid = String(process.getuid?.() ?? 0);
    const hex = [...uid].map((c) => c.charCodeAt(0).toString(16)).join("");
    writeFull(this.fd, new TextEncoder().encode(`\0AUTH EXTERNAL ${hex}\r\n`));
    const line = this.readLine();
    if (!line.startsWith("OK ")) throw new BuncError(`D-Bus authentication refused: ${JSON.stringify(line)}`, { code: "DBUS" });
    writeFull(this.fd, new TextEncoder().encode("BEGIN\r\n"));
  }

  private readLine(): string {
    const bytes: number[] = [];
    const one = new Uint8Array(1);
    while (bytes.length < 4096) {
      if (!this.read(one)) throw new BuncError("D-Bus: the bus closed the connection during authentication", { code: "DBUS" });
      bytes.push(one[0]!);
      if (bytes.length >= 2 && bytes[bytes.length - 2] === 13 && one[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes.slice(0, -2)));
    }
    throw new BuncError("D-Bus: authentication line too long", { code: "DBUS" });
  }

  private read(buf: Uint8Array): boolean {
    try {
      return readFull(this.fd, buf);
    } catch (e) {
      if ((e as BuncError).errno === 11 /* EAGAIN: SO_RCVTIMEO passed */) throw new BuncError(`D-Bus: no answer from the bus in ${this.timeoutMs} ms`, { code: "ETIMEDOUT" });
      throw e;
    }
  }

  private receive(): Message {
    const head = new Uint8Array(16);
    if (!this.read(head)) throw new BuncError("D-Bus: the bus closed the connection", { code: "DBUS" });
    const whole = new Uint8Array(messageLength(head));
    whole.set(head);
    if (!this.read(whole.subarray(16))) throw new BuncError("D-Bus: the bus closed the connection mid-message", { code: "DBUS" });
    return decodeMessage(whole);
  }

  /** Call a method and return its reply's body; an error reply throws DBusError. */
  call(c: MethodCall): unknown[] {
    const serial = ++this.serial;
    writeFull(this.fd, encodeMessage({ type: MessageType.MethodCall, serial, ...c }));
    for (;;) {
      const m = this.receive();
      if (m.type === MessageType.Signal) {
        this.signals.push(m);
        continue;
      }
      if (m.replySerial !== serial) continue;
      if (m.type === MessageType.Error) throw new DBusError(m.errorName ?? "unknown error", String(m.body?.[0] ?? ""));
      return m.body ?? [];
    }
  }

  /** The first signal (kept or arriving) that matches; throws after the timeout. */
  waitSignal(match: (m: Message) => boolean): Message {
    for (;;) {
      const i = this.signals.findIndex(match);
      if (i >= 0) return this.signals.splice(i, 1)[0]!;
      const m = this.receive();
      if (m.type === MessageType.Signal) this.signals.push(m);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
