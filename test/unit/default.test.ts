/** src/spec/default.ts defaultSpec(): the same document `runc spec` writes, but for hostname. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/spec/config";
import { defaultSpec } from "../../src/spec/default";
import { SPEC_VERSION } from "../../src/version";

const RUNC = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** `runc spec [args]` in a fresh directory, parsed. */
function runcSpec(...args: string[]): any {
  const dir = mkdtempSync(join(tmpdir(), "bunc-spec-"));
  dirs.push(dir);
  const proc = Bun.spawnSync([RUNC!, "spec", ...args], { cwd: dir, stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`runc spec failed: ${proc.stderr.toString()}`);
  return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
}

/** The only allowed differences: hostname (runc/bunc) and ociVersion. */
function normalize(spec: any): any {
  const copy = structuredClone(spec);
  delete copy.hostname;
  delete copy.ociVersion;
  return copy;
}

describe.skipIf(!RUNC)(`defaultSpec against ${RUNC ?? "runc (not installed: skipped)"} spec`, () => {
  test("normal: equal, key order included", () => {
    const runc = runcSpec();
    const bunc = defaultSpec();
    expect(runc.hostname).toBe("runc");
    expect(bunc.hostname).toBe("bunc");
    expect(normalize(bunc)).toEqual(normalize(runc));
    expect(JSON.stringify(normalize(bunc), null, "\t")).toBe(JSON.stringify(normalize(runc), null, "\t"));
  });

  test("--rootless: equal, with this user's uid/gid", () => {
    const runc = runcSpec("--rootless");
    const bunc = defaultSpec({ rootless: true, uid: process.getuid!(), gid: process.getgid!() });
    expect(normalize(bunc)).toEqual(normalize(runc));
    expect(JSON.stringify(normalize(bunc), null, "\t")).toBe(JSON.stringify(normalize(runc), null, "\t"));
  });
});

describe("defaultSpec", () => {
  test("hostname bunc, ociVersion the one bunc implements (--version's spec:), not runc 1.1's 1.0.2-dev", () => {
    expect(defaultSpec().hostname).toBe("bunc");
    expect(defaultSpec().ociVersion).toBe(SPEC_VERSION);
    expect(defaultSpec({ rootless: true }).ociVersion).toBe(SPEC_VERSION);
  });

  test("rootless: uid/gid 0 by default, mapped to the given host ids", () => {
    const linux = defaultSpec({ rootless: true }).linux as any;
    expect(linux.uidMappings).toEqual([{ containerID: 0, hostID: 0, size: 1 }]);
    expect(linux.gidMappings).toEqual([{ containerID: 0, hostID: 0, size: 1 }]);
    const mapped = defaultSpec({ rootless: true, uid: 1000, gid: 100 }).linux as any;
    expect(mapped.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(mapped.gidMappings).toEqual([{ containerID: 0, hostID: 100, size: 1 }]);
    expect(mapped.resources).toBeUndefined();
  });

  test("every call returns a fresh document", () => {
    const a = defaultSpec() as any;
    a.process.args.push("x");
    a.mounts.pop();
    expect((defaultSpec() as any).process.args).toEqual(["sh"]);
    expect((defaultSpec() as any).mounts).toHaveLength(7);
  });

  test("both variants pass bunc's own config validation", () => {
    expect(() => parseConfig(defaultSpec())).not.toThrow();
    expect(() => parseConfig(defaultSpec({ rootless: true }))).not.toThrow();
  });
});
