/**
 * archive.ts is the container of a unibus backup: a plain POSIX tar file
 * (`tar tvf` lists it, `tar xf` unpacks it), written in one pass to disk.
 * Stream snapshots arrive in chunks of unknown total size, so each entry's
 * header is written first with size 0 and rewritten in place once the entry
 * ends; every entry's SHA-256 is computed while it is written. The reader
 * walks the headers (seeking over the data), so listing a 10 GiB backup
 * reads a few kilobytes, and refuses a file cut short.
 */
import { createHash, type Hash } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { RuntimeError } from "../errors.ts";

const BLOCK = 512;
const ZERO_BLOCK = new Uint8Array(BLOCK);

/** ArchiveEntry is one file in the archive: its name, size in bytes and where its data starts. */
export interface ArchiveEntry {
  name: string;
  size: number;
  /** Byte offset of the entry's data in the archive file. */
  offset: number;
}

/** WrittenEntry is what the writer reports for a finished entry. */
export interface WrittenEntry { name: string; size: number; sha256: string }

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** header builds a ustar header block; sizes of 8 GiB and more use GNU's base-256 form. */
function header(name: string, size: number, mtimeSec: number): Uint8Array {
  const enc = new TextEncoder();
  const nameBytes = enc.encode(name);
  if (nameBytes.length > 100) throw new RuntimeError(`archive entry name too long: ${name}`);
  const h = new Uint8Array(BLOCK);
  h.set(nameBytes, 0);
  h.set(enc.encode(octal(0o600, 8)), 100);
  h.set(enc.encode(octal(0, 8)), 108);
  h.set(enc.encode(octal(0, 8)), 116);
  if (size < 8 ** 11) {
    h.set(enc.encode(octal(size, 12)), 124);
  } else {
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) { h[i] = Number(v & 0xffn); v >>= 8n; }
  }
  h.set(enc.encode(octal(mtimeSec, 12)), 136);
  h.set(enc.encode("        "), 148);
  h[156] = "0".charCodeAt(0);
  h.set(enc.encode("ustar\0"), 257);
  h.set(enc.encode("00"), 263);
  h.set(enc.encode("unibus"), 265);
  h.set(enc.encode("unibus"), 297);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

function parseSize(h: Uint8Array): number {
  if (h[124]! & 0x80) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    return Number(v);
  }
  return parseInt(new TextDecoder().decode(h.subarray(124, 136)).replace(/\0.*$/s, "").trim() || "0", 8);
}

function headerChecksumOk(h: Uint8Array): boolean {
  const stored = parseInt(new TextDecoder().decode(h.subarray(148, 156)).replace(/\0.*$/s, "").trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return stored === sum;
}

/**
 * ArchiveWriter writes a tar file entry by entry at the file's current end.
 * The caller renames the file into place once finish() returned: a crash
 * leaves only a file it never renamed.
 */
export class ArchiveWriter {
  readonly #fd: number;
  #pos = 0;
  #open?: { name: string; headerAt: number; size: number; hash: Hash; mtime: number };

  constructor(readonly path: string) {
    this.#fd = openSync(path, "wx", 0o600);
  }

  /** begin starts an entry; write its data with write() and end it with end(). */
  begin(name: string, mtimeMs = Date.now()): void {
    if (this.#open) throw new Error(`archive entry ${this.#open.name} is still open`);
    const mtime = Math.floor(mtimeMs / 1000);
    this.#open = { name, headerAt: this.#pos, size: 0, hash: createHash("sha256"), mtime };
    this.#put(header(name, 0, mtime));
  }

  /** write appends bytes to the open entry. */
  write(data: Uint8Array): void {
    const e = this.#open;
    if (!e) throw new Error("no archive entry is open");
    this.#put(data);
    e.size += data.length;
    e.hash.update(data);
  }

  /** end pads the entry to a block, rewrites its header with the size and returns its size and digest. */
  end(): WrittenEntry {
    const e = this.#open;
    if (!e) throw new Error("no archive entry is open");
    this.#open = undefined;
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad) this.#put(ZERO_BLOCK.subarray(0, pad));
    writeSync(this.#fd, header(e.name, e.size, e.mtime), 0, BLOCK, e.headerAt);
    return { name: e.name, size: e.size, sha256: e.hash.digest("hex") };
  }

  /** add writes a whole entry at once. */
  add(name: string, data: Uint8Array | string): WrittenEntry {
    this.begin(name);
    this.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    return this.end();
  }

  /** bytesWritten is the archive's size so far. */
  get bytesWritten(): number { return this.#pos; }

  /** finish writes tar's end marker, flushes the file to disk and closes it. */
  finish(): void {
    this.#put(ZERO_BLOCK);
    this.#put(ZERO_BLOCK);
    fsyncSync(this.#fd);
    closeSync(this.#fd);
  }

  /** abandon closes the file without finishing it (the caller deletes it). */
  abandon(): void {
    try { closeSync(this.#fd); } catch { /* already closed */ }
  }

  #put(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.#fd, data, done, data.length - done, this.#pos + done);
    this.#pos += data.length;
  }
}

/**
 * listArchive reads the entries of a tar file written by ArchiveWriter.
 * Errors name the file and say whether it is not a backup, damaged or cut
 * short.
 */
export function listArchive(path: string): ArchiveEntry[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new RuntimeError(`${path} does not exist`);
    if (code === "EACCES") throw new RuntimeError(`cannot read ${path}: permission denied (run it with sudo)`);
    throw new RuntimeError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const total = fstatSync(fd).size;
    const entries: ArchiveEntry[] = [];
    const h = new Uint8Array(BLOCK);
    let pos = 0;
    for (;;) {
      if (pos + BLOCK > total) throw new RuntimeError(`${path} is cut short at byte ${total} (after ${entries.length} entries): the backup was not completely written or copied`);
      readSync(fd, h, 0, BLOCK, pos);
      if (h.every((b) => b === 0)) return entries;
      if (!headerChecksumOk(h)) throw new RuntimeError(`${path} is damaged at byte ${pos}: ${entries.length ? "an entry header" : "it is not a unibus backup (no tar header)"} fails its checksum`);
      const name = new TextDecoder().decode(h.subarray(0, 100)).replace(/\0.*$/s, "");
      const size = parseSize(h);
      const offset = pos + BLOCK;
      if (offset + size > total) throw new RuntimeError(`${path} is cut short: entry ${name} needs ${size} bytes at byte ${offset}, the file ends at ${total}; the backup was not completely written or copied`);
      entries.push({ name, size, offset });
      pos = offset + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
}

/** readEntry returns an entry's data (for the small entries: manifest, configs, certificates). */
export function readEntry(path: string, entry: ArchiveEntry): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const out = new Uint8Array(entry.size);
    let done = 0;
    while (done < entry.size) {
      const n = readSync(fd, out, done, entry.size - done, entry.offset + done);
      if (n === 0) throw new RuntimeError(`${path} ends inside entry ${entry.name}`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** entryChunks yields an entry's data in chunks of at most chunkSize bytes, read as they are consumed. */
export function* entryChunks(path: string, entry: ArchiveEntry, chunkSize = 128 * 1024): Generator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    let done = 0;
    while (done < entry.size) {
      const want = Math.min(chunkSize, entry.size - done);
      const buf = new Uint8Array(want);
      const n = readSync(fd, buf, 0, want, entry.offset + done);
      if (n === 0) throw new RuntimeError(`${path} ends inside entry ${entry.name}`);
      done += n;
      yield n === want ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** entrySha256 hashes an entry's data, reading it in chunks. */
export function entrySha256(path: string, entry: ArchiveEntry): string {
  const hash = createHash("sha256");
  for (const chunk of entryChunks(path, entry, 1024 * 1024)) hash.update(chunk);
  return hash.digest("hex");
}
