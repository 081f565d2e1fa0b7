/**
 * The image rows of the benchmark: `bunc image run --rm` of a busybox OCI
 * archive (first run, empty layer cache; repeated, layers cached) beside
 * `umoci unpack` + `runc run` of the same image and `podman run --rm` of the
 * same archive (podman's default storage driver, a private root), and
 * `bunc run` of an unpacked bundle as the floor. Everything it makes lives
 * in its own scratch directory and is removed again.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { makeBundle } from "../rootfs";
import { q, sh, why } from "./measure";
import { parseHyperfine, type Figure, type ImageRow } from "./report";

const which = (c: string) => Bun.spawnSync(["sh", "-c", `command -v ${c}`]).stdout.toString().trim();

/** hyperfine -N of a shell command line (run by sh), with an optional prepare script; the mean in ms. */
function time(tmp: string, runs: number, warmup: number, command: string, prepare?: string): Figure {
  const n = Math.random().toString(36).slice(2);
  const json = path.join(tmp, `img-${n}.json`);
  const log = path.join(tmp, `img-${n}.log`);
  writeFileSync(log, "");
  const argv = ["hyperfine", "-N", "--style", "none", "--warmup", String(warmup), "--runs", String(runs), "--export-json", json];
  if (prepare) {
    writeFileSync(path.join(tmp, `img-${n}-prep.sh`), `exec >>${q(log)} 2>&1\n${prepare}\n`);
    argv.push("--prepare", `sh ${q(path.join(tmp, `img-${n}-prep.sh`))}`);
  }
  writeFileSync(path.join(tmp, `img-${n}.sh`), `exec 2>>${q(log)}\n${command}\n`);
  argv.push(`sh ${q(path.join(tmp, `img-${n}.sh`))}`);
  const r = sh(tmp, argv, 1_800_000);
  if (r.code !== 0) return { na: `${why(r, "hyperfine")} (${readFileSync(log, "utf8").trim().split("\n").pop()?.slice(0, 200) ?? ""})` };
  const s = parseHyperfine(readFileSync(json, "utf8"));
  return { value: s.mean, sd: s.stddev };
}

export function measureImages(tmp: string, bunc: string, runs: number, warmup: number): ImageRow[] {
  const dir = path.join(tmp, "images");
  mkdirSync(dir, { recursive: true });
  const missing = ["podman", "umoci", "runc"].filter((c) => !which(c));
  const rows = (f: (id: string) => Figure): ImageRow[] => [
    { id: "bunc.first", label: "`bunc image run --rm` (first: empty layer cache)", how: "--prepare `bunc image prune`", figure: f("bunc.first") },
    { id: "bunc.repeat", label: "`bunc image run --rm` (repeated: layers cached)", how: "same archive, cache kept", figure: f("bunc.repeat") },
    { id: "bunc.bundle", label: "`bunc run` of an unpacked bundle (the floor)", how: "the bundle `bunc image unpack` made", figure: f("bunc.bundle") },
    { id: "umoci.runc", label: "`umoci unpack` + `runc run`", how: "the oci-dir save of the image (umoci reads no archive); --prepare removes the bundle", figure: f("umoci.runc") },
    { id: "podman", label: "`podman run --rm oci-archive:…`", how: "podman 4 with runc, private root, its default storage driver, --network none", figure: f("podman") },
  ];
  if (missing.length) return rows(() => ({ na: `${missing.join(", ")} not installed` }));
  const conf = path.join(dir, "containers.conf");
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
  const podman = `CONTAINERS_CONF=${q(conf)} podman --root ${q(path.join(dir, "podman"))} --runroot ${q(path.join(dir, "podman-run"))} --tmpdir ${q(path.join(dir, "podman-tmp"))}`;
  try {
    makeBundle(path.join(dir, "base"));
    const tar = path.join(dir, "rootfs.tar");
    const archive = path.join(dir, "busybox.tar");
    const layout = path.join(dir, "busybox-dir");
    const build = sh(dir, ["sh", "-c", [
      `tar -C ${q(path.join(dir, "base/rootfs"))} -cf ${q(tar)} .`,
      `${podman} import --change 'CMD=["/bin/true"]' ${q(tar)} localhost/bench-busybox`,
      `${podman} save --format oci-archive -o ${q(archive)} localhost/bench-busybox`,
      `${podman} save --format oci-dir -o ${q(layout)} localhost/bench-busybox`,
      `${podman} rmi -f localhost/bench-busybox`,
    ].join(" && ")], 300_000);
    if (build.code !== 0) return rows(() => ({ na: why(build, "building the image with podman") }));
    const root = path.join(dir, "bunc-root");
    const b = `${q(bunc)} --root ${q(root)}`;
    const bundle = path.join(dir, "unpacked");
    sh(dir, ["sh", "-c", `${b} image unpack oci-archive:${q(archive)} ${q(bundle)}`]);
    const umociBundle = path.join(dir, "umoci-bundle");
    const figures: Record<string, Figure> = {
      "bunc.first": time(dir, runs, warmup, `${b} image run --rm oci-archive:${q(archive)}`, `${b} image prune`),
      "bunc.repeat": time(dir, runs, Math.max(1, warmup), `${b} image run --rm oci-archive:${q(archive)}`),
      "bunc.bundle": time(dir, runs, warmup, `${b} run -b ${q(bundle)} bench-image-bundle`),
      // umoci's config asks for a terminal (runc spec's default): off, as bunc's conversion has it.
      "umoci.runc": time(dir, runs, warmup, `umoci unpack --image ${q(layout)}:localhost/bench-busybox:latest ${q(umociBundle)} >/dev/null && sed -i 's/"terminal": true/"terminal": false/' ${q(umociBundle)}/config.json && runc --root ${q(path.join(dir, "runc-root"))} run -b ${q(umociBundle)} bench-image-umoci`, `rm -rf ${q(umociBundle)}`),
      podman: time(dir, runs, Math.max(1, warmup), `${podman} run --rm --network none --runtime ${q(which("runc"))} oci-archive:${q(archive)} >/dev/null`),
    };
    return rows((id) => figures[id]!);
  } finally {
    sh(dir, ["sh", "-c", `${podman} rm -af -t 0; ${podman} system reset -f`], 120_000);
    // Whatever podman's overlay driver left mounted below the scratch directory.
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(dir + "/"));
    for (const m of mounts.sort((x, y) => y.length - x.length)) sh(dir, ["umount", "-l", m]);
    sh(dir, [bunc, "--root", path.join(dir, "bunc-root"), "image", "prune"]);
    rmSync(dir, { recursive: true, force: true });
  }
}
