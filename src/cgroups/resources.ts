/** The parts of linux.resources that the cgroup managers read. */
import type { Spec } from "../spec/config";

export type LinuxResources = NonNullable<NonNullable<Spec["linux"]>["resources"]>;
export type LinuxDeviceCgroup = NonNullable<LinuxResources["devices"]>[number];
