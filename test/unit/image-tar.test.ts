/** The image tar reader: archives GNU tar writes (pax, long names), round trips of generated ones, and fuzzed bytes. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { posix as path } from "node:path";
import { BuncError } from "../../src/errors";
import { indexTar, readTar, type TarHeader } from "../../src/image/tar";
import { makeTar, type TarSpec } from "../integration/image-helpers";

async function* once(b: Uint8Array, chunk = 4096): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk);
}

async function entries(b: Uint8Array, chunk?: number): Promise<{ h: TarHeader; body: string }[]> {
  const out: { h: TarHeader; body: string }[] = [];
  for await (const e of readTar(once(b, chunk))) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c);
    out.push({ h: e.header, body: Buffer.concat(parts).toString() });
  }
  return out;
}

describe("image tar reader", () => {
  test("reads what GNU tar writes in pax format: long names, long link targets, symlinks; indexTar finds a member by offset", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bunc-tar-"));
    try {
      const long = "d".repeat(120) + "/" + "f".repeat(150);
      mkdirSync(path.join(dir, "src", "d".repeat(120)), { recursive: true });
      writeFileSync(path.join(dir, "src", long), "long\n");
      symlinkSync(long, path.join(dir, "src/sym"));
      const r = Bun.spawnSync(["tar", "--format=pax", "--hard-dereference", "-C", path.join(dir, "src"), "-cf", path.join(dir, "a.tar"), "."]);
      expect(r.exitCode).toBe(0);
      const bytes = new Uint8Array(readFileSync(path.join(dir, "a.tar")));
      const got = await entries(bytes, 7);
      const file = got.find((e) => e.h.name === `./${long}`)!;
      expect(file.body).toBe("long\n");
      expect(got.find((e) => e.h.name === "./sym")!.h).toMatchObject({ type: "symlink", linkname: long });
      const index = indexTar((pos, len) => bytes.subarray(pos, pos + len), bytes.length);
      const m = index.get(long)!;
      expect(Buffer.from(bytes.subarray(m.offset, m.offset + m.header.size)).toString()).toBe("long\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("round trip: every generated entry comes back, whatever the chunk size", async () => {
    const name = fc.stringMatching(/^[a-z0-9._-]{1,20}(\/[a-z0-9._-]{1,20}){0,3}$/);
    const entry: fc.Arbitrary<TarSpec> = fc.record({
      name,
      type: fc.constantFrom("file", "dir", "symlink", "hardlink") as fc.Arbitrary<TarSpec["type"]>,
      body: fc.string({ maxLength: 1500 }).map((s) => s.replace(/[^\x20-\x7e]/g, "a")),
      linkname: name,
      mode: fc.integer({ min: 0, max: 0o7777 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 8 }), fc.integer({ min: 1, max: 2000 }), async (specs, chunk) => {
        const got = await entries(makeTar(specs), chunk);
        expect(got.map((e): unknown[] => [e.h.name, e.h.type, e.h.mode, e.h.type === "file" ? e.body : ""])).toEqual(
          specs.map((s): unknown[] => [s.name, s.type, s.mode, s.type === "file" ? s.body : ""]),
        );
      }),
      { numRuns: 150 },
    );
  });

  test("fuzz: damaged archives end, or fail with one BuncError — never another error, never a hang", async () => {
    const base = makeTar([{ name: "a", body: "hello" }, { name: "b", type: "symlink", linkname: "a" }, { name: "c", type: "dir" }]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.nat(base.length), async (flips, cut) => {
        const b = new Uint8Array(base);
        for (const [at, v] of flips) b[at] = v;
        try {
          await entries(b.subarray(0, cut));
        } catch (e) {
          expect(e).toBeInstanceOf(BuncError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
