/**
 * Image references in the containers-transports(5) names skopeo and podman
 * use: oci-archive:PATH[:TAG], oci:DIR[:TAG], docker-archive:PATH[:REF].
 */
import { BuncError } from "../errors";

export type Transport = "oci-archive" | "oci" | "docker-archive";

export interface ImageReference {
  transport: Transport;
  path: string;
  /** oci: the org.opencontainers.image.ref.name; docker-archive: a RepoTags entry or "@N" (the Nth image). */
  tag?: string;
}

const TRANSPORTS: Transport[] = ["oci-archive", "oci", "docker-archive"];

/** Parse "TRANSPORT:PATH[:TAG]". */
export function parseReference(ref: string): ImageReference {
  const colon = ref.indexOf(":");
  const transport = ref.slice(0, colon) as Transport;
  if (colon < 0 || !TRANSPORTS.includes(transport))
    throw new BuncError(`invalid image reference ${JSON.stringify(ref)}: want oci-archive:PATH[:TAG], oci:DIR[:TAG] or docker-archive:PATH[:REF]`, { code: "EINVAL" });
  const rest = ref.slice(colon + 1);
  if (rest === "") throw new BuncError(`invalid image reference ${JSON.stringify(ref)}: no path`, { code: "EINVAL" });
  // As containers/image (SplitPathAndImage): the path ends at the first ":", the name (localhost/app:1) may hold more.
  const split = rest.indexOf(":");
  if (split < 0) return { transport, path: rest };
  const path = rest.slice(0, split);
  const tag = rest.slice(split + 1);
  if (path === "" || tag === "") throw new BuncError(`invalid image reference ${JSON.stringify(ref)}: empty path or tag`, { code: "EINVAL" });
  if (!/^[A-Za-z0-9._:/@-]+$/.test(tag))
    throw new BuncError(`invalid image reference ${JSON.stringify(ref)}: invalid tag ${JSON.stringify(tag)}`, { code: "EINVAL" });
  return { transport, path, tag };
}
