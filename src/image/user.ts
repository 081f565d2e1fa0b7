/**
 * The image config's User ("name", "uid", "name:group", "uid:gid", …)
 * resolved through the image's own /etc/passwd and /etc/group, read beneath
 * its root (image-spec conversion.md, "User").
 */
import { BuncError } from "../errors";
import { parsePasswd, readInRoot } from "../container/passwd";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

interface Group {
  name: string;
  gid: number;
  members: string[];
}

function parseGroup(text: string): Group[] {
  const out: Group[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) });
  }
  return out;
}

const numeric = (s: string) => /^\d+$/.test(s);

/** uid, gid and supplementary groups for `user` in the tree at rootfs. */
export function resolveUser(rootfs: string, user: string | undefined): ResolvedUser {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(":", 2) as [string, string | undefined];
  const passwd = parsePasswd(readInRoot(rootfs, "etc/passwd") ?? "");
  const groups = parseGroup(readInRoot(rootfs, "etc/group") ?? "");
  const entry = numeric(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  if (!numeric(u) && !entry) throw new BuncError(`image user ${JSON.stringify(u)}: no such user in the image's /etc/passwd`, { code: "ENOENT" });
  const uid = numeric(u) ? Number(u) : entry!.uid;
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== "") {
    if (numeric(g)) gid = Number(g);
    else {
      const grp = groups.find((x) => x.name === g);
      if (!grp) throw new BuncError(`image group ${JSON.stringify(g)}: no such group in the image's /etc/group`, { code: "ENOENT" });
      gid = grp.gid;
    }
    return { uid, gid };
  }
  // No group named: the user's supplementary groups too, as docker and podman set them.
  const extra = entry ? groups.filter((x) => x.members.includes(entry.name) && x.gid !== gid).map((x) => x.gid) : [];
  return extra.length ? { uid, gid, additionalGids: extra } : { uid, gid };
}
