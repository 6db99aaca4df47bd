/**
 * _deb.ts holds what every fetch script needs to take files out of Debian's
 * archive: a download with progress, sha256, atomic writes, a Packages index
 * lookup, and extraction of one file from a .deb. The mirror comes from apt's
 * configuration (_apt-mirror.ts), so no host name is written anywhere.
 */
import { createHash } from "node:crypto";
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Progress, formatBytes } from "./_progress.ts";

const progress = new Progress();

/** sha256 is the hex digest the lock files pin. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** download fetches a URL into memory, showing progress on a terminal. */
export async function download(url: string, label: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`download ${url} failed: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let got = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    got += chunk.length;
    progress.update(`${label}: ${formatBytes(got)}${total ? ` / ${formatBytes(total)} (${Math.round((got / total) * 100)}%)` : ""}`);
  }
  const out = new Uint8Array(got);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  progress.done(`${label}: ${formatBytes(got)}`);
  return out;
}

/** writeAtomic writes a file under a temporary name and renames it, so readers never see half of it. */
export function writeAtomic(path: string, data: Uint8Array, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** debMember extracts one file (a path as the .deb's data tar names it, e.g. ./usr/sbin/nats-server). */
export function debMember(debPath: string, member: string): Uint8Array {
  // dpkg-deb ships with every Debian system; it reads any compression the archive uses.
  const tar = execFileSync("dpkg-deb", ["--fsys-tarfile", debPath], { maxBuffer: 1 << 30 });
  return execFileSync("tar", ["-xO", member], { input: tar, maxBuffer: 1 << 30 });
}

/** debMembers lists the paths in a .deb's data tar. */
export function debMembers(debPath: string): string[] {
  const tar = execFileSync("dpkg-deb", ["--fsys-tarfile", debPath], { maxBuffer: 1 << 30 });
  return execFileSync("tar", ["-t"], { input: tar, maxBuffer: 1 << 30 }).toString().split("\n").filter(Boolean);
}

/** PackageStanza is one package's fields from a Packages index. */
export type PackageStanza = (name: string) => string;

/** packagesIndex downloads a suite's Packages.xz for one architecture and returns a lookup by package name. */
export async function packagesIndex(mirror: string, suite: string, arch: string): Promise<(pkg: string) => PackageStanza | undefined> {
  const index = await download(`${mirror}/dists/${suite}/main/binary-${arch}/Packages.xz`, `index ${suite} ${arch}`);
  const text = execFileSync("xz", ["-dc"], { input: index, maxBuffer: 1 << 30 }).toString();
  const byName = new Map<string, string>();
  for (const stanza of text.split("\n\n")) {
    const m = /^Package: (\S+)$/m.exec(stanza);
    if (m?.[1] && !byName.has(m[1])) byName.set(m[1], stanza);
  }
  return (pkg) => {
    const stanza = byName.get(pkg);
    if (!stanza) return undefined;
    return (name) => new RegExp(`^${name}: (.+)$`, "m").exec(stanza)?.[1] ?? "";
  };
}
