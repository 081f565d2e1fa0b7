/**
 * The few calls of systemd's manager API (org.freedesktop.systemd1(5)) the
 * cgroup driver makes, each job waited for through its JobRemoved signal as
 * go-systemd does for runc.
 */
import { BuncError } from "../../errors";
import { Bus, DBusError } from "./bus";
import type { Property } from "./units";
import { MessageType, type Variant } from "./wire";

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";

export class Systemd {
  private constructor(readonly bus: Bus) {}

  static connect(address?: string): Systemd {
    const bus = Bus.connect(address);
    try {
      // Job results come as JobRemoved signals, which the bus routes to us only on a match.
      bus.call({
        destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch",
        signature: "s", body: [`type='signal',sender='${DEST}',path='${PATH}',interface='${MANAGER}',member='JobRemoved'`],
      });
      return new Systemd(bus);
    } catch (e) {
      bus.close();
      throw e;
    }
  }

  private manager(member: string, signature = "", body: unknown[] = []): unknown[] {
    return this.bus.call({ destination: DEST, path: PATH, interface: MANAGER, member, signature, body });
  }

  /** systemd's version number ("252.22-1~deb12u1" → 252), which decides the properties it knows. */
  version(): number {
    const [v] = this.bus.call({ destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: [MANAGER, "Version"] }) as [Variant];
    const m = /(\d+)/.exec(String(v.value));
    return m ? Number(m[1]) : 0;
  }

  /** Wait for the job's end and return its result ("done", "failed", "canceled", …). */
  private jobResult(job: string): string {
    const m = this.bus.waitSignal((s) => s.type === MessageType.Signal && s.member === "JobRemoved" && s.body?.[1] === job);
    return String(m.body![3]);
  }

  /** StartTransientUnit in mode "replace", waited for; an existing unit of that name is left as it is, as runc. */
  startTransientUnit(unit: string, properties: Property[]): void {
    let job: string;
    try {
      [job] = this.manager("StartTransientUnit", "ssa(sv)a(sa(sv))", [unit, "replace", properties, []]) as [string];
    } catch (e) {
      if (e instanceof DBusError && e.name === "org.freedesktop.systemd1.UnitExists") return;
      throw new BuncError(`systemd: start unit ${unit}: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
    const result = this.jobResult(job);
    if (result !== "done") {
      this.resetFailedUnit(unit);
      throw new BuncError(`error creating systemd unit \`${unit}\`: got \`${result}\``, { code: "CGROUP" });
    }
  }

  /** StopUnit, waited for; a unit that is gone already is no error. Returns the job's result. */
  stopUnit(unit: string): string {
    let job: string;
    try {
      [job] = this.manager("StopUnit", "ss", [unit, "replace"]) as [string];
    } catch (e) {
      if (e instanceof DBusError && e.name === "org.freedesktop.systemd1.NoSuchUnit") return "done";
      throw new BuncError(`systemd: stop unit ${unit}: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
    return this.jobResult(job);
  }

  /** SetUnitProperties for the runtime (not persisted beyond /run). */
  setUnitProperties(unit: string, properties: Property[]): void {
    if (properties.length === 0) return;
    try {
      this.manager("SetUnitProperties", "sba(sv)", [unit, true, properties]);
    } catch (e) {
      throw new BuncError(`systemd: set properties of unit ${unit}: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
  }

  resetFailedUnit(unit: string): void {
    try {
      this.manager("ResetFailedUnit", "s", [unit]);
    } catch {
      // As runc: only a warning there; the unit may not have failed.
    }
  }

  /** The unit's object path, or undefined when systemd has no such unit loaded. */
  getUnit(unit: string): string | undefined {
    try {
      return String(this.manager("GetUnit", "s", [unit])[0]);
    } catch (e) {
      if (e instanceof DBusError && e.name === "org.freedesktop.systemd1.NoSuchUnit") return undefined;
      throw e;
    }
  }

  close(): void {
    this.bus.close();
  }
}
