/**
 * fetch-boards.ts puts what the emulated Raspberry Pi boards boot in
 * vendor/boards/: Debian trixie's arm64 kernels (16 KiB pages like a Pi 5's
 * kernel_2712, 4 KiB like a Pi 3's) and busybox-static, pinned with sha256 in
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

interface LockEntry { package: string; version: string; filename: string; size: number; debSha256: string; member: string; fileSha256: string }
interface Lock { suite: string; arch: "arm64"; parts: Record<BoardPart, LockEntry> }

/** Where each part comes from: the package to pin (a metapackage is followed to its kernel) and the file in it. */
const SOURCES: Record<BoardPart, { package: string; member: RegExp; metapackage?: true }> = {
  "kernel-16k": { package: "linux-image-arm64-16k", member: /^\.\/boot\/vmlinuz-/, metapackage: true },
  "kernel-4k": { package: "linux-image-arm64", member: /^\.\/boot\/vmlinuz-/, metapackage: true },
  busybox: { package: "busybox-static", member: /^\.\/(usr\/)?bin\/busybox$/ },
};

const progress = new Progress();

/** FetchedPart is a verified file on disk and the Debian version it came from. */
export interface FetchedPart { part: BoardPart; path: string; package: string; version: string }

/** fetchBoardPart returns a verified file, downloading its .deb only when the cache misses. */
export async function fetchBoardPart(part: BoardPart): Promise<FetchedPart> {
  const lock = JSON.parse(readFileSync(LOCK, "utf8")) as Lock;
  const entry = lock.parts[part];
  mkdirSync(BOARDS_DIR, { recursive: true });
  const path = join(BOARDS_DIR, `${part}-${entry.fileSha256.slice(0, 16)}`);
  const result = { part, path, package: entry.package, version: entry.version };
  if (existsSync(path) && sha256(readFileSync(path)) === entry.fileSha256) return result;
  const debPath = join(BOARDS_DIR, entry.filename.split("/").pop()!);
  let deb: Uint8Array | undefined = existsSync(debPath) ? readFileSync(debPath) : undefined;
  if (!deb || sha256(deb) !== entry.debSha256) {
    const url = `${debianMirror()}/${entry.filename}`;
    deb = await download(url, `fetching ${entry.package} ${entry.version} arm64`);
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
  const lookup = await packagesIndex(mirror, suite, "arm64");
  const parts = {} as Record<BoardPart, LockEntry>;
  mkdirSync(BOARDS_DIR, { recursive: true });
  for (const [part, source] of Object.entries(SOURCES) as [BoardPart, (typeof SOURCES)[BoardPart]][]) {
    let field = lookup(source.package);
    if (!field) throw new Error(`no ${source.package} in ${suite}/arm64`);
    let name = source.package;
    if (source.metapackage) {
      // Follow the metapackage's first dependency to the versioned kernel package.
      name = field("Depends").split(",")[0]!.trim().split(/\s/)[0]!;
      field = lookup(name);
      if (!field) throw new Error(`${source.package} depends on ${name}, which ${suite}/arm64 does not have`);
    }
    const filename = field("Filename");
    const deb = await download(`${mirror}/${filename}`, `fetching ${filename}`);
    if (sha256(deb) !== field("SHA256")) throw new Error(`${filename}: sha256 does not match the archive index`);
    const debPath = join(BOARDS_DIR, filename.split("/").pop()!);
    writeAtomic(debPath, deb);
    const member = debMembers(debPath).find((m) => source.member.test(m));
    if (!member) throw new Error(`${filename} has no file matching ${source.member}`);
    parts[part] = { package: name, version: field("Version"), filename, size: deb.length, debSha256: field("SHA256"), member, fileSha256: sha256(debMember(debPath, member)) };
  }
  writeFileSync(LOCK, JSON.stringify({ suite, arch: "arm64", parts } satisfies Lock, null, 2) + "\n");
  progress.step(`pinned ${Object.values(parts).map((p) => `${p.package} ${p.version}`).join(", ")} in ${LOCK}`);
}

if (import.meta.main) {
  try {
    if (process.argv.includes("--update-lock")) await updateLock();
    else for (const part of Object.keys(SOURCES) as BoardPart[]) await fetchBoardPart(part);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
