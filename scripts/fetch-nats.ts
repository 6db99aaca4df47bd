/**
 * fetch-nats.ts puts a verified nats-server binary for each architecture in
 * vendor/, from Debian's `nats-server` package pinned in
 * vendor/nats-server.lock.json. Usage:
 *
 *   bun scripts/fetch-nats.ts [amd64|arm64 ...]   fetch and verify (cached)
 *   bun scripts/fetch-nats.ts --update-lock        pin the suite's current version
 *
 * UNIBUS_DEBIAN_MIRROR overrides the mirror read from apt's configuration;
 * UNIBUS_NATS_SERVER_AMD64 / UNIBUS_NATS_SERVER_ARM64 use a local binary instead.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { debianMirror } from "./_apt-mirror.ts";
import { debMember, download, sha256, writeAtomic } from "./_deb.ts";
import { Progress, formatBytes } from "./_progress.ts";

/** ROOT is the repository's top folder. */
export const ROOT = resolve(import.meta.dir, "..");
/** VENDOR is where fetched packages and binaries are cached (git-ignored but for the lock). */
export const VENDOR = join(ROOT, "vendor");
const LOCK = join(VENDOR, "nats-server.lock.json");

/** DebArch names the Debian architectures unibus ships for. */
export type DebArch = "amd64" | "arm64";
/** DEB_ARCHES lists them in build order. */
export const DEB_ARCHES: DebArch[] = ["amd64", "arm64"];

interface LockEntry { filename: string; size: number; debSha256: string; binarySha256: string }
interface Lock { package: string; suite: string; version: string; arches: Record<DebArch, LockEntry> }

/** FetchedBinary is a verified nats-server binary on disk. */
export interface FetchedBinary { arch: DebArch; path: string; sha256: string; packageVersion: string; version: string }

const progress = new Progress();

function readLock(): Lock {
  return JSON.parse(readFileSync(LOCK, "utf8")) as Lock;
}

function extractBinary(debPath: string): Uint8Array {
  return debMember(debPath, "./usr/sbin/nats-server");
}

function natsVersionOf(packageVersion: string): string {
  return packageVersion.replace(/^\d+:/, "").replace(/-[^-]+$/, "").replace(/[+~].*$/, "");
}

/** fetchNats returns a verified binary for one architecture, downloading only when the cache misses. */
export async function fetchNats(arch: DebArch): Promise<FetchedBinary> {
  const override = process.env[`UNIBUS_NATS_SERVER_${arch.toUpperCase()}`];
  if (override) {
    const data = readFileSync(override);
    const version = execFileSync(override, ["--version"]).toString().trim().replace(/^nats-server:\s*v?/, "");
    progress.step(`nats-server ${arch}: using local binary ${override} (${version}; not pinned by the lock file)`);
    return { arch, path: override, sha256: sha256(data), packageVersion: "local", version };
  }
  const lock = readLock();
  const entry = lock.arches[arch];
  mkdirSync(VENDOR, { recursive: true });
  const binPath = join(VENDOR, `nats-server-${lock.version}-${arch}`);
  if (existsSync(binPath) && sha256(readFileSync(binPath)) === entry.binarySha256) {
    return { arch, path: binPath, sha256: entry.binarySha256, packageVersion: lock.version, version: natsVersionOf(lock.version) };
  }
  const debPath = join(VENDOR, entry.filename.split("/").pop()!);
  let deb: Uint8Array | undefined = existsSync(debPath) ? readFileSync(debPath) : undefined;
  if (!deb || sha256(deb) !== entry.debSha256) {
    const url = `${debianMirror()}/${entry.filename}`;
    deb = await download(url, `fetching ${lock.package} ${lock.version} ${arch}`);
    const got = sha256(deb);
    if (got !== entry.debSha256) {
      throw new Error(`${url}: sha256 ${got} does not match the lock file (${entry.debSha256}); refusing to use it`);
    }
    writeAtomic(debPath, deb);
  }
  const bin = extractBinary(debPath);
  const got = sha256(bin);
  if (got !== entry.binarySha256) {
    throw new Error(`nats-server extracted from ${debPath} has sha256 ${got}, the lock file says ${entry.binarySha256}`);
  }
  writeAtomic(binPath, bin, 0o755);
  progress.step(`nats-server ${lock.version} ${arch}: verified ${formatBytes(bin.length)} -> ${binPath}`);
  return { arch, path: binPath, sha256: got, packageVersion: lock.version, version: natsVersionOf(lock.version) };
}

async function updateLock(suite = "forky"): Promise<void> {
  const mirror = debianMirror();
  const arches = {} as Record<DebArch, LockEntry>;
  let version = "";
  for (const arch of DEB_ARCHES) {
    const index = await download(`${mirror}/dists/${suite}/main/binary-${arch}/Packages.xz`, `index ${suite} ${arch}`);
    const text = execFileSync("xz", ["-dc"], { input: index, maxBuffer: 1 << 30 }).toString();
    const stanza = text.split("\n\n").find((s) => s.startsWith("Package: nats-server\n"));
    if (!stanza) throw new Error(`no nats-server package in ${suite}/${arch}`);
    const field = (name: string) => new RegExp(`^${name}: (.+)$`, "m").exec(stanza)?.[1] ?? "";
    version = field("Version");
    const filename = field("Filename");
    const deb = await download(`${mirror}/${filename}`, `fetching ${filename}`);
    if (sha256(deb) !== field("SHA256")) throw new Error(`${filename}: sha256 does not match the archive index`);
    const debPath = join(VENDOR, filename.split("/").pop()!);
    mkdirSync(VENDOR, { recursive: true });
    writeAtomic(debPath, deb);
    arches[arch] = { filename, size: deb.length, debSha256: field("SHA256"), binarySha256: sha256(extractBinary(debPath)) };
  }
  const lock: Lock = { package: "nats-server", suite, version, arches };
  writeFileSync(LOCK, JSON.stringify(lock, null, 2) + "\n");
  progress.step(`pinned nats-server ${version} in ${LOCK}`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  try {
    if (args.includes("--update-lock")) await updateLock();
    else for (const arch of (args.length ? args : DEB_ARCHES) as DebArch[]) await fetchNats(arch);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
