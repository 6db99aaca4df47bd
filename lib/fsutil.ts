/**
 * fsutil.ts holds the one way unibus writes files that must never be seen
 * half-written or with a looser mode or another owner than intended: a temp
 * file created with its final mode, given its owner, fsynced, renamed over
 * the target, directory fsynced. A reader sees the old file or the whole new
 * one, never a window where root's CLI left a file the service cannot read.
 */
import { chownSync, closeSync, fchmodSync, fchownSync, statSync, readFileSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync, constants } from "node:fs";
import { dirname, basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { RuntimeError } from "./errors.ts";

/** FileOwner is who owns a file: numeric user and group ids. */
export interface FileOwner { uid: number; gid: number }

/**
 * writeFileAtomic replaces `path` with `data` atomically, the file having
 * exactly `mode` from its first byte (O_EXCL: never follows a planted file or
 * symlink) and, when root writes, `owner` before the rename (a non-root
 * process cannot give a file away; its files are its own). Failures are a
 * RuntimeError naming the path.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number, owner?: FileOwner): void {
  try {
    writeOrThrow(path, data, mode, process.getuid?.() === 0 ? owner : undefined);
  } catch (err) {
    throw new RuntimeError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * ownerOf returns the owner and permission bits (mode & 0o777) of `path`, or
 * undefined when it cannot be stat'ed: the reference a file is written "like"
 * (a CA key keeps root:unibus 0640; a data-dir file keeps the service user).
 */
export function ownerOf(path: string): (FileOwner & { mode: number }) | undefined {
  try {
    const st = statSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode & 0o777 };
  } catch {
    return undefined;
  }
}

/**
 * mkdirLikeParent makes `dir` and any missing parents with `mode`; when root
 * makes them, each new folder gets the owner of the folder it is made in. So
 * `sudo unibus backup` making `/var/lib/unibus/backups` leaves it the service
 * user's (as the data dir is), and the service's scheduled backups can still
 * write there; a folder made under root's own folders stays root's.
 */
export function mkdirLikeParent(dir: string, mode: number): void {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined || process.getuid?.() !== 0) return;
  const made: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    made.unshift(d);
    if (d === first || dirname(d) === d) break;
  }
  for (const d of made) {
    const parent = statSync(dirname(d));
    chownSync(d, parent.uid, parent.gid);
  }
}

function writeOrThrow(path: string, data: string | Uint8Array, mode: number, owner: FileOwner | undefined): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode); // the umask may have narrowed the creation mode; a chown may have cleared set-id bits
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

/**
 * unlinkDurable removes files and makes the removals durable across a power
 * cut (an fsync of each folder they were in). A file that is already gone is
 * no error; any other failure throws the fs error.
 */
export function unlinkDurable(paths: readonly string[]): void {
  const dirs = new Set<string>();
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    dirs.add(dirname(p));
  }
  for (const d of dirs) fsyncDir(d);
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

/** ServiceIdentity is who a secret file is judged for: uid -1 means "the service user, uid unknown". */
export interface ServiceIdentity { uid: number; gid: number; name?: string }

/** INSTALLED_CONFIG_DIR is install.sh's config folder (DEFAULTS.installedConfigDir; fsutil sits below config). */
const INSTALLED_CONFIG_DIR = "/etc/unibus";

/** SERVICE_ACCOUNT is the system user and group install.sh creates and the unit runs as. */
export const SERVICE_ACCOUNT = "unibus";

/**
 * serviceIdentity is whom a secret file is judged for. A non-root process
 * judges for itself. Root (an operator's `sudo unibus config check`,
 * install.sh) judges a file in the installed layout (/etc/unibus) for the
 * service account when it exists, because the service, not root, will read
 * it: a 0640 root:unibus secret is then fine, and a 0600 root:root one is an
 * error, as they will be for the service.
 */
export function serviceIdentity(file?: string, accounts: { passwd?: string; group?: string } = {}): ServiceIdentity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid !== 0 || !file?.startsWith(`${INSTALLED_CONFIG_DIR}/`)) return { uid, gid };
  const gidOf = accountId(accounts.group ?? "/etc/group");
  if (gidOf === undefined) return { uid, gid };
  return { uid: accountId(accounts.passwd ?? "/etc/passwd") ?? -1, gid: gidOf, name: SERVICE_ACCOUNT };
}

function accountId(file: string): number | undefined {
  try {
    const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(`${SERVICE_ACCOUNT}:`));
    const id = line ? Number(line.split(":")[2]) : NaN;
    return Number.isInteger(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * exposedBits returns the permission bits through which someone other than
 * the file's owner can reach a secret file. Group read is forgiven in one
 * layout only: root owns the file and the group is the service's (the group
 * this non-root process runs as, or the service account's when root judges
 * for it) — how install.sh lays out /etc/unibus (0640 root:unibus), the way
 * Debian keeps daemon keys (0640 root:ssl-cert).
 */
export function exposedBits(st: Ownership, self: ServiceIdentity = serviceIdentity()): number {
  const bits = st.mode & 0o077;
  const serviceGroupRead = st.uid === 0 && self.uid !== 0 && st.gid === self.gid;
  return serviceGroupRead ? bits & ~0o040 : bits;
}

/**
 * unreadableByService names why the service account could not read a file
 * that root can (root judging for the service), or returns undefined.
 */
export function unreadableByService(st: Ownership, file: string, self: ServiceIdentity = serviceIdentity(file)): string | undefined {
  if (!self.name) return undefined;
  const readable = st.uid === self.uid ? st.mode & 0o400 : st.gid === self.gid ? st.mode & 0o040 : st.mode & 0o004;
  if (readable) return undefined;
  return `the service user ${self.name} cannot read ${file} (owner uid ${st.uid}, group gid ${st.gid}, mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); run: chown root:${self.name} ${file} && chmod 640 ${file}`;
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

/** memberGroups are the gids of the groups that list user as a member in /etc/group (its supplementary groups). */
function memberGroups(user: string): number[] {
  try {
    return readFileSync("/etc/group", "utf8").split("\n").map((l) => l.split(":")).filter((f) => (f[3] ?? "").split(",").includes(user)).map((f) => Number(f[2]));
  } catch {
    return [];
  }
}

/** userName is the login name of uid from /etc/passwd, else "uid N". */
function userName(uid: number): string {
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.split(":")[2] === String(uid));
    if (line) return line.split(":")[0]!;
  } catch {
    // no passwd: the number says it
  }
  return `uid ${uid}`;
}

/**
 * blockedFolder names the folder on the way to `file` that the one judged
 * (this process, or the service account when root judges an installed
 * file) cannot enter, or returns undefined: "the unibus user cannot enter
 * /etc/unibus/certs: mode 0700 root (run: …)". Without it a file behind
 * such a folder reads as "file not found".
 */
export function blockedFolder(file: string, self: ServiceIdentity = serviceIdentity(file)): string | undefined {
  if (self.uid === 0) return undefined;
  const groups = new Set([self.gid, ...(self.name ? memberGroups(self.name) : (process.getgroups?.() ?? []))]);
  const who = self.name ? `the ${self.name} user` : `this user (${userName(self.uid)})`;
  const parts = dirname(file).split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join("/")}`;
    let st;
    try {
      st = statSync(dir);
    } catch {
      return undefined; // missing (or above us a folder we already judged): not a permission problem here
    }
    const search = st.uid === self.uid ? st.mode & 0o100 : groups.has(st.gid) ? st.mode & 0o010 : st.mode & 0o001;
    if (!search) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      const fix = self.name ? `chgrp ${self.name} ${dir} && chmod g+x ${dir}` : `chmod o+x ${dir}, or run as a user allowed in`;
      return `${who} cannot enter ${dir}: mode ${mode} ${userName(st.uid)} (run: ${fix})`;
    }
  }
  return undefined;
}
