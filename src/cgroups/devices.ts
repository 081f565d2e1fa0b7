/**
 * Device access rules (linux.resources.devices) as v1 devices.allow and
 * devices.deny lines. runc adds its default allowed devices after the
 * config's rules (libcontainer/specconv AllowedDevices): the standard nodes
 * every container gets, /dev/pts and /dev/ptmx, and mknod of any device.
 */
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

/** The config's rules followed by the defaults, in the order they must be written. */
export function deviceRules(rules: readonly LinuxDeviceCgroup[] = []): DeviceRule[] {
  const out: DeviceRule[] = rules.map((r) => ({
    allow: r.allow,
    type: r.type ?? "a",
    major: r.major ?? "*",
    minor: r.minor ?? "*",
    access: r.access ?? "rwm",
  }));
  return [...out, ...ALLOWED_DEVICES];
}

/** "c 1:3 rwm", the line format of devices.allow/devices.deny (Documentation/admin-guide/cgroup-v1/devices.rst). */
export function deviceLine(r: DeviceRule): string {
  return `${r.type} ${r.major}:${r.minor} ${r.access}`;
}
