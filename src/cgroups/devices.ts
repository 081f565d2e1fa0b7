/**
 * Device access rules (linux.resources.devices) as v1 devices.allow and
 * devices.deny lines. runc adds its default allowed devices after the
 * config's rules (libcontainer/specconv AllowedDevices): the standard nodes
 * every container gets, /dev/pts and /dev/ptmx, and mknod of any device.
 */
import { BuncError } from "../errors";
import type { LinuxDeviceCgroup } from "./resources";

export interface DeviceRule {
  allow: boolean;
  /** "a", "c" or "b". */
  type: string;
  major: number | "*";
  minor: number | "*";
  access: string;
}

const c = (major: number | "*", minor: number | "*", access = "rwm"): DeviceRule => ({ allow: true, type: "c", major, minor, access });

/** Devices a container may always use (runc's AllowedDevices). */
export const ALLOWED_DEVICES: DeviceRule[] = [
  { allow: true, type: "c", major: "*", minor: "*", access: "m" },
  { allow: true, type: "b", major: "*", minor: "*", access: "m" },
  c(1, 3), c(1, 8), c(1, 7), c(5, 0), c(1, 5), c(1, 9),
  c(136, "*"), c(5, 2),
  c(10, 200),
];

/**
 * The config's rules followed by the defaults, in the order they must be
 * written. Access letters other than r, w and m are dropped with a warning,
 * as runc ignores them (its devices.Permissions keeps only those three). An
 * access with none of them is refused, as an empty one is.
 */
export function deviceRules(rules: readonly LinuxDeviceCgroup[] = [], warnings?: string[]): DeviceRule[] {
  const out: DeviceRule[] = rules.map((r, i) => ({
    allow: r.allow,
    type: r.type ?? "a",
    major: r.major ?? "*",
    minor: r.minor ?? "*",
    access: knownAccess(i, r.access ?? "rwm", warnings),
  }));
  return [...out, ...ALLOWED_DEVICES];
}

function knownAccess(i: number, access: string, warnings?: string[]): string {
  const known = access.replace(/[^rwm]/g, "");
  if (known === access) return access;
  const field = `linux.resources.devices[${i}].access ${JSON.stringify(access)}`;
  if (known === "") throw new BuncError(`${field}: no known access letter (expected r, w, m)`, { code: "CONFIG" });
  const unknown = [...new Set(access.replace(/[rwm]/g, ""))].map((c) => JSON.stringify(c));
  warnings?.push(`${field}: unknown access ${unknown.join(", ")} ignored (expected r, w, m)`);
  return known;
}

/** "c 1:3 rwm", the line format of devices.allow/devices.deny (Documentation/admin-guide/cgroup-v1/devices.rst). */
export function deviceLine(r: DeviceRule): string {
  return `${r.type} ${r.major}:${r.minor} ${r.access}`;
}
