/**
 * bpf(2) for cgroup device programs: load one, attach it to a cgroup
 * directory, and find and detach the ones bunc attached before. The attr
 * layouts are those of union bpf_attr (include/uapi/linux/bpf.h); the
 * kernel zero-checks the bytes after the fields it knows, so each attr is a
 * zeroed buffer of the size passed.
 */
import { ptr } from "bun:ffi";
import { closeSync } from "node:fs";
import { errnoError, rawSyscall, SYS } from "./libc";

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Several programs may be attached; each must allow an access (cgroup-v2.rst: "all must allow"). */
const BPF_F_ALLOW_MULTI = 2;
const ENOSPC = 28;
const EPERM = 1;
const EACCES = 13;

/** The name bunc gives its device programs, to find them again (bpf_prog_info.name holds 15 bytes). */
export const DEVICE_PROGRAM_NAME = "bunc_devices";

function bpf(what: string, cmd: number, attr: Uint8Array): number {
  const r = rawSyscall(SYS.bpf, cmd, attr, attr.length);
  if (r < 0) throw errnoError(what, -r);
  return r;
}

/** Load a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. On a verifier refusal the message carries the verifier's log. */
export function loadDeviceProgram(insns: Uint8Array, license = "Apache"): number {
  // The verifier's log costs time even on success: asked for only on a retry after a refusal.
  const r = load(insns, license, undefined);
  if (r >= 0) return r;
  const log = new Uint8Array(64 * 1024);
  load(insns, license, log);
  const text = new TextDecoder().decode(log.subarray(0, Math.max(0, log.indexOf(0)))).trim();
  const e = errnoError("load the cgroup device program (bpf BPF_PROG_LOAD)", -r);
  if (text) e.message += `: ${text.split("\n").slice(-3).join("; ")}`;
  throw e;
}

function load(insns: Uint8Array, license: string, log: Uint8Array | undefined): number {
  const lic = new TextEncoder().encode(license + "\0");
  const attr = new Uint8Array(128);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  v.setUint32(4, insns.length / 8, true);
  v.setBigUint64(8, BigInt(ptr(insns)), true);
  v.setBigUint64(16, BigInt(ptr(lic)), true);
  if (log) {
    v.setUint32(24, 1, true); // log_level: the verifier explains a refusal
    v.setUint32(28, log.length, true);
    v.setBigUint64(32, BigInt(ptr(log)), true);
  }
  attr.set(new TextEncoder().encode(DEVICE_PROGRAM_NAME), 48); // prog_name[16]
  v.setUint32(68, BPF_CGROUP_DEVICE, true); // expected_attach_type
  return rawSyscall(SYS.bpf, BPF_PROG_LOAD, attr, attr.length);
}

/** Attach a device program to the cgroup directory open as cgroupFd, beside any already there. */
export function attachDeviceProgram(cgroupFd: number, progFd: number): void {
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, progFd, true);
  v.setUint32(8, BPF_CGROUP_DEVICE, true);
  v.setUint32(12, BPF_F_ALLOW_MULTI, true);
  bpf("attach the cgroup device program (bpf BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)", BPF_PROG_ATTACH, attr);
}

/** Detach the program open as progFd from the cgroup. */
export function detachDeviceProgram(cgroupFd: number, progFd: number): void {
  const attr = new Uint8Array(32);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, progFd, true);
  v.setUint32(8, BPF_CGROUP_DEVICE, true);
  bpf("detach the old cgroup device program (bpf BPF_PROG_DETACH)", BPF_PROG_DETACH, attr);
}

/** The ids of the device programs attached to the cgroup itself (not inherited ones). */
export function attachedDevicePrograms(cgroupFd: number): number[] {
  for (let size = 64; ; ) {
    const ids = new Uint32Array(size);
    const attr = new Uint8Array(40);
    const v = new DataView(attr.buffer);
    v.setUint32(0, cgroupFd, true);
    v.setUint32(4, BPF_CGROUP_DEVICE, true);
    v.setBigUint64(16, BigInt(ptr(ids)), true);
    v.setUint32(24, size, true);
    const r = rawSyscall(SYS.bpf, BPF_PROG_QUERY, attr, attr.length);
    const count = v.getUint32(24, true);
    // ENOSPC: more than fit; prog_cnt says how many there are.
    if (r === -ENOSPC && count > size) {
      size = count;
      continue;
    }
    if (r < 0) throw errnoError("list the cgroup's device programs (bpf BPF_PROG_QUERY)", -r);
    return [...ids.subarray(0, count)];
  }
}

/**
 * An fd of the program with this id and its name, or undefined when it is
 * gone or not ours to open (EPERM/EACCES: an LSM may guard another's
 * program; a device program can only restrict, so leaving it is safe).
 */
export function openProgram(id: number): { fd: number; name: string } | undefined {
  const attr = new Uint8Array(16);
  new DataView(attr.buffer).setUint32(0, id, true);
  const fd = rawSyscall(SYS.bpf, BPF_PROG_GET_FD_BY_ID, attr, attr.length);
  if (fd === -EPERM || fd === -EACCES || fd === -2 /* ENOENT: detached meanwhile */) return undefined;
  if (fd < 0) throw errnoError(`open bpf program ${id} (bpf BPF_PROG_GET_FD_BY_ID)`, -fd);
  try {
    const info = new Uint8Array(256); // struct bpf_prog_info up to name[16] at 64, with room for newer kernels' fields
    const q = new Uint8Array(16);
    const v = new DataView(q.buffer);
    v.setUint32(0, fd, true);
    v.setUint32(4, info.length, true);
    v.setBigUint64(8, BigInt(ptr(info)), true);
    bpf(`read bpf program ${id}'s info (bpf BPF_OBJ_GET_INFO_BY_FD)`, BPF_OBJ_GET_INFO_BY_FD, q);
    const name = info.subarray(64, 80);
    const end = name.indexOf(0);
    return { fd, name: new TextDecoder().decode(name.subarray(0, end < 0 ? 16 : end)) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
