/**
 * release.ts makes the download for each architecture: the executable
 * compressed with xz (xz -6, multi-threaded), its sha256 in `sha256sum` format,
 * and install.sh, which verifies the sum and unpacks the file itself:
 *
 *   release/unibus-<version>/linux-x64/{unibus-linux-x64.xz,unibus-linux-x64.xz.sha256,install.sh}
 *   release/unibus-<version>/linux-arm64/{...}
 *
 *   bun scripts/release.ts [--target linux-x64|linux-arm64] [--level 0-9] [--out DIR] [--no-build]
 */
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TARGETS } from "./build.ts";
import { ROOT } from "./fetch-nats.ts";
import { Progress, formatBytes } from "./_progress.ts";

const progress = new Progress();

/** ReleaseFile is one architecture's download. */
export interface ReleaseFile { target: string; dir: string; xz: string; sha256: string; size: number; compressed: number }

async function sha256File(path: string): Promise<string> {
  const hash = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

/** makeRelease compresses dist/unibus-<target> into outDir/linux-<arch>/ beside its sum and install.sh. */
export async function makeRelease(target: string, outDir: string, level: number): Promise<ReleaseFile> {
  const exe = join(ROOT, "dist", `unibus-${target}`);
  const dir = join(outDir, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const name = `unibus-${target}.xz`;
  const xz = join(dir, name);
  progress.step(`compressing ${exe} (${formatBytes(statSync(exe).size)}) with xz -${level} ...`);
  const started = Date.now();
  // -v shows xz's own progress on a terminal; -T0 uses every core.
  const proc = Bun.spawn(["xz", `-${level}`, "-T0", "-c", ...(process.stderr.isTTY ? ["-v"] : []), exe], { stdout: Bun.file(`${xz}.tmp`), stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`xz failed for ${exe}`);
  renameSync(`${xz}.tmp`, xz);
  const sum = await sha256File(xz);
  writeFileSync(`${xz}.sha256`, `${sum}  ${name}\n`);
  copyFileSync(join(ROOT, "install.sh"), join(dir, "install.sh"));
  const file = { target, dir, xz, sha256: sum, size: statSync(exe).size, compressed: statSync(xz).size };
  progress.done(`${xz}: ${formatBytes(file.compressed)} from ${formatBytes(file.size)} in ${((Date.now() - started) / 1000).toFixed(0)} s, sha256 ${sum}`);
  return file;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { target: { type: "string" }, level: { type: "string", default: "6" }, out: { type: "string" }, "no-build": { type: "boolean", default: false } },
  });
  const targets = values.target ? TARGETS.filter((t) => t.name === values.target) : TARGETS;
  const level = Number(values.level);
  if (targets.length === 0 || !Number.isInteger(level) || level < 0 || level > 9) {
    console.error(`usage: bun scripts/release.ts [--target ${TARGETS.map((t) => t.name).join("|")}] [--level 0-9] [--out DIR] [--no-build]`);
    process.exit(2);
  }
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  const outDir = values.out ?? join(ROOT, "release", `unibus-${version}`);
  try {
    if (!values["no-build"]) {
      for (const t of targets) {
        const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), "--if-stale", "--target", t.name], { stdout: "inherit", stderr: "inherit" });
        if (build.exitCode !== 0) throw new Error(`build of ${t.name} failed`);
      }
    }
    for (const t of targets) await makeRelease(t.name, outDir, level);
    progress.step(`release in ${outDir}: on the host, sudo ./install.sh --config node.toml (it verifies and unpacks the .xz beside it)`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
