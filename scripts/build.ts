/**
 * build.ts compiles unibus into one executable per target, each embedding the
 * zstd-compressed nats-server for its CPU. Usage:
 *
 *   bun scripts/build.ts                 both targets
 *   bun scripts/build.ts --target host   only this machine's (npm start)
 *   bun scripts/build.ts --if-stale      skip targets whose output is newer than every input
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tryLockFile } from "../lib/runtime-flock.ts";
import { fetchNats, ROOT, VENDOR, type DebArch } from "./fetch-nats.ts";
import { Progress, formatBytes } from "./_progress.ts";

/** BuildTarget pairs a Bun compile target with the Debian architecture of its nats-server. */
export interface BuildTarget { name: "linux-x64" | "linux-arm64"; bunTarget: string; arch: DebArch }

/** TARGETS are the executables unibus ships. */
export const TARGETS: BuildTarget[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", arch: "amd64" },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", arch: "arm64" },
];

const ZSTD_LEVEL = 19;
/** BUILD_LOCK is the file whose flock(2) serializes builds; it is never removed (a new file would be a second lock). */
export const BUILD_LOCK = join(ROOT, "build", ".lock");
const progress = new Progress();

function newestInput(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, "lib"));
  walk(join(ROOT, "packaging")); // the unit template is compiled in (lib/runtime-unit.ts)
  for (const f of ["main.ts", "package.json", "package-lock.json", "vendor/nats-server.lock.json", "scripts/build.ts"]) {
    if (existsSync(join(ROOT, f))) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  }
  return newest;
}

async function compressed(binPath: string, sha256: string): Promise<string> {
  const out = join(VENDOR, `nats-server-${sha256.slice(0, 16)}.zst`);
  if (!existsSync(out)) {
    progress.step(`compressing nats-server (zstd -${ZSTD_LEVEL}) ...`);
    // The build runs on Bun and is not shipped, so it may call Bun directly.
    writeFileSync(out, Bun.zstdCompressSync(readFileSync(binPath), { level: ZSTD_LEVEL }));
  }
  return out;
}

async function buildTarget(target: BuildTarget, version: string): Promise<void> {
  const nats = await fetchNats(target.arch);
  const zst = await compressed(nats.path, nats.sha256);
  const embed = join(ROOT, "build", "embed");
  mkdirSync(embed, { recursive: true });
  writeFileSync(join(embed, "nats-server.zst"), readFileSync(zst));
  const meta = {
    version: nats.version,
    packageVersion: nats.packageVersion,
    sha256: nats.sha256,
    arch: nats.arch,
    compression: "zstd",
    unibusVersion: version,
    target: target.name,
    // A floor for the clock at start (lib/clock.ts): a Pi without a real-time clock can boot in the past.
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(embed, "nats-server.meta"), JSON.stringify(meta, null, 2) + "\n");
  const outfile = join(ROOT, "dist", `unibus-${target.name}`);
  progress.step(`compiling ${outfile} (${target.bunTarget}) ...`);
  const started = Date.now();
  const proc = Bun.spawn(
    [
      process.execPath, "build", "--compile", `--target=${target.bunTarget}`,
      "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
      "--minify", "--keep-names",
      // Precompiled bytecode halves start-up (--version 39 -> 14 ms on x64; more on a
      // Pi, where parsing JavaScript is slow) for about 4 MB of executable.
      "--bytecode", "--format=esm",
      join(ROOT, "main.ts"), "--outfile", `${outfile}.tmp`,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "inherit" },
  );
  const code = await proc.exited;
  if (code !== 0) throw new Error(`bun build for ${target.name} failed with exit code ${code}`);
  renameSync(`${outfile}.tmp`, outfile); // a running test never sees a half-written executable
  progress.done(`built ${outfile}: ${formatBytes(statSync(outfile).size)} in ${((Date.now() - started) / 1000).toFixed(1)} s (nats-server ${nats.version}, embedded ${formatBytes(statSync(zst).size)})`);
}

/**
 * buildVersion is the version a build carries: package.json's version plus
 * semver build metadata naming the source, so `unibus version` tells two
 * builds apart and a user can confirm an upgrade took. In a git checkout it
 * is the commit's short hash, with ".dirty" when tracked files differ from it
 * (0.1.0+git.6dc6333.dirty); without git, the build time (0.1.0+built.20261129T212400Z).
 */
export function buildVersion(packageVersion: string, root: string = ROOT, now: Date = new Date()): string {
  const git = (...args: string[]) => {
    const r = Bun.spawnSync(["git", "-C", root, ...args], { stdout: "pipe", stderr: "pipe" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
  };
  const commit = Bun.which("git") ? git("rev-parse", "--short=7", "HEAD") : undefined;
  if (!commit) return `${packageVersion}+built.${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
  const dirty = git("status", "--porcelain", "--untracked-files=no");
  return `${packageVersion}+git.${commit}${dirty ? ".dirty" : ""}`;
}

/** hostTarget maps this machine's CPU to its build target. */
export function hostTarget(): BuildTarget {
  const name = process.arch === "arm64" ? "linux-arm64" : "linux-x64";
  return TARGETS.find((t) => t.name === name)!;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const only = args.includes("--target") ? args[args.indexOf("--target") + 1] : undefined;
  const targets = only === "host" ? [hostTarget()] : only ? TARGETS.filter((t) => t.name === only) : TARGETS;
  if (targets.length === 0) {
    console.error(`error: unknown target ${only}; expected host, ${TARGETS.map((t) => t.name).join(", ")}`);
    process.exit(2);
  }
  const version = buildVersion((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version);
  const release = await lockBuild();
  const newest = newestInput();
  try {
    for (const target of targets) {
      const outfile = join(ROOT, "dist", `unibus-${target.name}`);
      if (args.includes("--if-stale") && existsSync(outfile) && statSync(outfile).mtimeMs > newest) {
        progress.step(`${outfile} is up to date`);
        continue;
      }
      await buildTarget(target, version);
    }
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    release();
    process.exit(1);
  }
  release();
}

/**
 * lockBuild serializes builds: every target shares build/embed, so two
 * builds at once (two test runs, a bench and a test) could embed the wrong
 * architecture's nats-server. The lock is flock(2) (lib/runtime-flock.ts):
 * the kernel drops it when a build ends however it ends, so a dead build
 * never blocks the next one and a reused pid never looks like a holder.
 * The pid written into the file only names the holder while waiting.
 */
export async function lockBuild(lock = BUILD_LOCK, pollMs = 200): Promise<() => void> {
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += pollMs) {
    const held = tryLockFile(lock);
    if (held) {
      held.write(String(process.pid));
      return () => held.release();
    }
    if (waited === 0) {
      const holder = (() => { try { return readFileSync(lock, "utf8").trim(); } catch { return ""; } })();
      progress.step(`waiting for another build${holder ? ` (pid ${holder})` : ""} ...`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
