/**
 * fsutil.ts holds the one way unibus writes files that must never be seen
 * half-written or with a looser mode than intended: a temp file created with
 * its final mode, fsynced, renamed over the target, directory fsynced.
 */
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync, constants } from "node:fs";
import { dirname, basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { RuntimeError } from "./errors.ts";

/**
 * writeFileAtomic replaces `path` with `data` atomically, the file having
 * exactly `mode` from its first byte (O_EXCL: never follows a planted file or
 * symlink). Failures are a RuntimeError naming the path.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  try {
    writeOrThrow(path, data, mode);
  } catch (err) {
    throw new RuntimeError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function writeOrThrow(path: string, data: string | Uint8Array, mode: number): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed the creation mode
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  fsyncDir(dir);
}

/** fsyncDir makes a rename in `dir` durable across a power cut. */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY);
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

/** Ownership is the part of a stat that decides who can read a file. */
export interface Ownership { mode: number; uid: number; gid: number }

/**
 * exposedBits returns the permission bits through which someone other than
 * the file's owner can reach a secret file. Group read is forgiven in one
 * layout only: root owns the file and the group is the one this (non-root)
 * process runs as — how install.sh lays out /etc/unibus (0640 root:unibus),
 * the way Debian keeps daemon keys (0640 root:ssl-cert).
 */
export function exposedBits(st: Ownership, self: { uid: number; gid: number } = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }): number {
  const bits = st.mode & 0o077;
  const serviceGroupRead = st.uid === 0 && self.uid !== 0 && st.gid === self.gid;
  return serviceGroupRead ? bits & ~0o040 : bits;
}

/** pathExists tells whether anything (file, folder, dangling symlink) sits at path; it never follows a link. */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
