import { describe, expect, test } from "bun:test";
import { parseReference } from "../../src/image/reference";
import { entryPath } from "../../src/image/apply";

describe("image references", () => {
  test("the transports' own names, a tag or docker REF after the path's first ':'", () => {
    expect(parseReference("oci-archive:app.tar")).toEqual({ transport: "oci-archive", path: "app.tar" });
    expect(parseReference("oci-archive:/x/app.tar:v1")).toEqual({ transport: "oci-archive", path: "/x/app.tar", tag: "v1" });
    expect(parseReference("oci:/x/layout:localhost/app:latest")).toEqual({ transport: "oci", path: "/x/layout", tag: "localhost/app:latest" });
    expect(parseReference("docker-archive:d.tar:docker.io/library/busybox:1")).toEqual({ transport: "docker-archive", path: "d.tar", tag: "docker.io/library/busybox:1" });
  });
  test("anything else is refused with a message naming the forms", () => {
    for (const bad of ["app.tar", "docker://busybox", "oci-archive:", "oci:dir:", "oci:dir:bad tag"]) expect(() => parseReference(bad)).toThrow(/invalid image reference/);
  });
  test("entry names: '..' and absolute names refused, '.' and empty components dropped", () => {
    expect(entryPath("./a//b/./c")).toEqual(["a", "b", "c"]);
    expect(entryPath("./")).toEqual([]);
    expect(() => entryPath("a/../../b")).toThrow(/'\.\.'/);
    expect(() => entryPath("/etc/passwd")).toThrow(/absolute/);
  });
});
