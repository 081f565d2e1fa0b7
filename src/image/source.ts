/**
 * Where an image's files are read from: an OCI layout directory, or a tar
 * archive (oci-archive, docker-archive) indexed once and read by offset, so
 * no blob is ever copied out of the archive before use.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { indexTar, memberName, type Member } from "./tar";

export interface ImageSource {
  /** The size of a file, or undefined when there is none. */
  size(name: string): number | undefined;
  /** The file's bytes, streamed. */
  stream(name: string): AsyncIterable<Uint8Array>;
  close(): void;
}

function missing(what: string, name: string): BuncError {
  return new BuncError(`${what}: no ${name} in the image`, { code: "ENOENT" });
}

/** An OCI image layout directory. Names are relative paths inside it and may not leave it. */
export function directorySource(dir: string): ImageSource {
  const file = (name: string) => {
    const clean = path.normalize(name);
    if (clean.startsWith("..") || path.isAbsolute(clean)) throw new BuncError(`image file name ${JSON.stringify(name)} leaves the image`, { code: "EINVAL" });
    return path.join(dir, clean);
  };
  return {
    size(name) {
      try {
        const st = statSync(file(name));
        return st.isFile() ? st.size : undefined;
      } catch {
        return undefined;
      }
    },
    stream(name) {
      if (this.size(name) === undefined) throw missing(dir, name);
      return Bun.file(file(name)).stream() as unknown as AsyncIterable<Uint8Array>;
    },
    close() {},
  };
}

/** A tar archive of an image (members found by name; a symlink member is followed inside the archive). */
export function archiveSource(file: string): ImageSource {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new BuncError(`open image archive ${file}: ${(e as Error).message.replace(/^E\w+: ([^,]+), .*$/s, "$1")}`, { code: (e as NodeJS.ErrnoException).code ?? "EIO", cause: e });
  }
  let members: Map<string, Member>;
  try {
    members = indexTar((pos, len) => {
      const b = new Uint8Array(len);
      const got = readSync(fd, b, 0, len, pos);
      return b.subarray(0, got);
    }, fstatSync(fd).size);
  } catch (e) {
    closeSync(fd);
    throw new BuncError(`image archive ${file}: ${(e as Error).message}`, { code: "EINVAL", cause: e });
  }
  const find = (name: string): Member | undefined => {
    let m = members.get(memberName(name));
    for (let hops = 0; m && (m.header.type === "symlink" || m.header.type === "hardlink") && hops < 8; hops++) {
      const target = m.header.type === "symlink" ? path.join(path.dirname(memberName(name)), m.header.linkname) : m.header.linkname;
      name = target;
      m = members.get(memberName(target));
    }
    return m?.header.type === "file" ? m : undefined;
  };
  return {
    size: (name) => find(name)?.header.size,
    stream(name) {
      const m = find(name);
      if (!m) throw missing(file, name);
      return Bun.file(file).slice(m.offset, m.offset + m.header.size).stream() as unknown as AsyncIterable<Uint8Array>;
    },
    close: () => closeSync(fd),
  };
}
