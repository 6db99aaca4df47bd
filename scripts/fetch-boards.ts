/**
 * fetch-boards.ts puts what the emulated Raspberry Pi boards boot in
 * vendor/boards/: Debian trixie's arm64 kernels (16 KiB pages like a Pi 5's
 * kernel_2712, 4 KiB like a Pi 3's), busybox-static, and the few armhf packages
 * of a 32-bit userland (a Pi 4 on the 32-bit OS), pinned with sha256 in
 * vendor/boards.lock.json and fetched from the mirror in apt's configuration.
 *
 *   bun scripts/fetch-boards.ts                 fetch and verify (cached)
 *   bun scripts/fetch-boards.ts --update-lock   pin the suite's current versions
 *
 * UNIBUS_DEBIAN_MIRROR overrides the mirror read from apt's configuration.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { debianMirror } from "./_apt-mirror.ts";
import { debMember, debMembers, download, packagesIndex, sha256, writeAtomic } from "./_deb.ts";
import { ROOT } from "./fetch-nats.ts";
import { Progress, formatBytes } from "./_progress.ts";

/** BOARDS_DIR caches the extracted kernels and busybox (git-ignored). */
export const BOARDS_DIR = join(ROOT, "vendor", "boards");
const LOCK = join(ROOT, "vendor", "boards.lock.json");

/** BoardPart names one file an emulated board boots. */
export type BoardPart = "kernel-16k" | "kernel-4k" | "busybox";
/** UserlandDeb names a whole armhf package of the 32-bit userland (a Pi running the 32-bit OS on its 64-bit kernel). */
export type UserlandDeb = "armhf-busybox" | "armhf-bash" | "armhf-libc6" | "armhf-libtinfo6";

interface LockEntry { package: string; arch: string; version: string; filename: string; size: number; debSha256: string; member?: string; fileSha256?: string }
interface Lock { suite: string; parts: Record<BoardPart | UserlandDeb, LockEntry> }

/** Where each part comes from: the package to pin (a metapackage is followed to its kernel) and the file in it (none: the whole .deb). */
const SOURCES: Record<BoardPart | UserlandDeb, { package: string; arch: string; member?: RegExp; metapackage?: true }> = {
  "kernel-16k": { package: "linux-image-arm64-16k", arch: "arm64", member: /^\.\/boot\/vmlinuz-/, metapackage: true },
  "kernel-4k": { package: "linux-image-arm64", arch: "arm64", member: /^\.\/boot\/vmlinuz-/, metapackage: true },
  busybox: { package: "busybox-static", arch: "arm64", member: /^\.\/(usr\/)?bin\/busybox$/ },
  "armhf-busybox": { package: "busybox-static", arch: "armhf" },
  "armhf-bash": { package: "bash", arch: "armhf" },
  "armhf-libc6": { package: "libc6", arch: "armhf" },
  "armhf-libtinfo6": { package: "libtinfo6", arch: "armhf" },
};

const progress = new Progress();

/** fetchUserlandDeb returns a verified .deb of the 32-bit userland, downloading it only when the cache misses. */
export async function fetchUserlandDeb(part: UserlandDeb): Promise<string> {
  const entry = (JSON.parse(readFileSync(LOCK, "utf8")) as Lock).parts[part];
  mkdirSync(BOARDS_DIR, { recursive: true });
  const debPath = join(BOARDS_DIR, entry.filename.split("/").pop()!);
  if (existsSync(debPath) && sha256(readFileSync(debPath)) === entry.debSha256) return debPath;
  const url = `${debianMirror()}/${entry.filename}`;
  const deb = await download(url, `fetching ${entry.package} ${entry.version} ${entry.arch}`);
  const got = sha256(deb);
  if (got !== entry.debSha256) throw new Error(`${url}: sha256 ${got} does not match ${LOCK} (${entry.debSha256}); refusing to use it`);
  writeAtomic(debPath, deb);
  return debPath;
}

/** FetchedPart is a verified file on disk and the Debian version it came from. */
export interface FetchedPart { part: BoardPart; path: string; package: string; version: string }

/** fetchBoardPart returns a verified file, downloading its .deb only when the cache misses. */
export async function fetchBoardPart(part: BoardPart): Promise<FetchedPart> {
  const lock = JSON.parse(readFileSync(LOCK, "utf8")) as Lock;
  const entry = lock.parts[part];
  if (!entry.member || !entry.fileSha256) throw new Error(`${LOCK}: ${part} names no file`);
  mkdirSync(BOARDS_DIR, { recursive: true });
  const path = join(BOARDS_DIR, `${part}-${entry.fileSha256.slice(0, 16)}`);
  const result = { part, path, package: entry.package, version: entry.version };
  if (existsSync(path) && sha256(readFileSync(path)) === entry.fileSha256) return result;
  const debPath = join(BOARDS_DIR, entry.filename.split("/").pop()!);
  let deb: Uint8Array | undefined = existsSync(debPath) ? readFileSync(debPath) : undefined;
  if (!deb || sha256(deb) !== entry.debSha256) {
    const url = `${debianMirror()}/${entry.filename}`;
    deb = await download(url, `fetching ${entry.package} ${entry.version} ${entry.arch}`);
    const got = sha256(deb);
    if (got !== entry.debSha256) throw new Error(`${url}: sha256 ${got} does not match ${LOCK} (${entry.debSha256}); refusing to use it`);
    writeAtomic(debPath, deb);
  }
  const file = debMember(debPath, entry.member);
  const got = sha256(file);
  if (got !== entry.fileSha256) throw new Error(`${entry.member} from ${debPath} has sha256 ${got}, ${LOCK} says ${entry.fileSha256}`);
  writeAtomic(path, file, 0o755);
  rmSync(debPath, { force: true }); // a kernel .deb is mostly modules the boards never load
  progress.step(`${part}: ${entry.package} ${entry.version} verified ${formatBytes(file.length)} -> ${path}`);
  return result;
}

async function updateLock(suite = "trixie"): Promise<void> {
  const mirror = debianMirror();
  const indexes = new Map<string, Awaited<ReturnType<typeof packagesIndex>>>();
  const parts = {} as Lock["parts"];
  mkdirSync(BOARDS_DIR, { recursive: true });
  for (const [part, source] of Object.entries(SOURCES) as [BoardPart | UserlandDeb, (typeof SOURCES)[BoardPart]][]) {
    if (!indexes.has(source.arch)) indexes.set(source.arch, await packagesIndex(mirror, suite, source.arch));
    const lookup = indexes.get(source.arch)!;
    let field = lookup(source.package);
    if (!field) throw new Error(`no ${source.package} in ${suite}/${source.arch}`);
    let name = source.package;
    if (source.metapackage) {
      // Follow the metapackage's first dependency to the versioned kernel package.
      name = field("Depends").split(",")[0]!.trim().split(/\s/)[0]!;
      field = lookup(name);
      if (!field) throw new Error(`${source.package} depends on ${name}, which ${suite}/${source.arch} does not have`);
    }
    const filename = field("Filename");
    const deb = await download(`${mirror}/${filename}`, `fetching ${filename}`);
    if (sha256(deb) !== field("SHA256")) throw new Error(`${filename}: sha256 does not match the archive index`);
    const debPath = join(BOARDS_DIR, filename.split("/").pop()!);
    writeAtomic(debPath, deb);
    parts[part] = { package: name, arch: source.arch, version: field("Version"), filename, size: deb.length, debSha256: field("SHA256") };
    if (source.member) {
      const member = debMembers(debPath).find((m) => source.member!.test(m));
      if (!member) throw new Error(`${filename} has no file matching ${source.member}`);
      parts[part] = { ...parts[part], member, fileSha256: sha256(debMember(debPath, member)) };
    }
  }
  writeFileSync(LOCK, JSON.stringify({ suite, parts } satisfies Lock, null, 2) + "\n");
  progress.step(`pinned ${Object.values(parts).map((p) => `${p.package} ${p.version}`).join(", ")} in ${LOCK}`);
}

if (import.meta.main) {
  try {
    if (process.argv.includes("--update-lock")) await updateLock();
    else {
      for (const part of ["kernel-16k", "kernel-4k", "busybox"] as BoardPart[]) await fetchBoardPart(part);
      for (const part of ["armhf-busybox", "armhf-bash", "armhf-libc6", "armhf-libtinfo6"] as UserlandDeb[]) await fetchUserlandDeb(part);
    }
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
