/** overlayfs mounts for image run (Documentation/filesystems/overlayfs.rst). */
import { cstr, errnoError, rawSyscall, SYS } from "./libc";

const SYS_mount = 165;
const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;
const EINVAL = 22;
const ENOENT = 2;

/** Mount an overlay at target: lowers topmost first, a fresh upper and work dir on one filesystem. */
export function mountOverlay(target: string, lowers: string[], upper: string, work: string): void {
  // ',' and ':' separate options and layers; the paths bunc makes hold neither, a given one must not.
  for (const p of [...lowers, upper, work]) if (/[,:\\]/.test(p)) throw errnoError(`overlay path ${p} has a ',' ':' or '\\'`, EINVAL);
  const data = `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`;
  const r = rawSyscall(SYS_mount, cstr("overlay"), cstr(target), cstr("overlay"), 0, cstr(data));
  if (r < 0) throw errnoError(`mount overlay on ${target}`, -r);
}

/** Detach the mount at target (umount2(2) MNT_DETACH, never following a symlink); a target not mounted is fine. */
export function unmount(target: string): void {
  const r = rawSyscall(SYS.umount2, cstr(target), MNT_DETACH | UMOUNT_NOFOLLOW);
  if (r < 0 && r !== -EINVAL && r !== -ENOENT) throw errnoError(`umount ${target}`, -r);
}
