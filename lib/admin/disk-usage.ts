/**
 * disk-usage.ts measures the data dir for the admin page: bytes used by its
 * files and the room left on its file system. A walk of a large JetStream
 * store is not free, so results are cached for a while.
 */
import { lstat, readdir, statfs } from "node:fs/promises";
import { join } from "node:path";

/** DiskUsage is what the node panel shows about the data dir. */
export interface DiskUsage {
  usedBytes: number;
  files: number;
  /** True when the walk stopped at MAX_ENTRIES; usedBytes is then a lower bound. */
  partial: boolean;
  fsFreeBytes?: number;
  fsTotalBytes?: number;
  error?: string;
}

const MAX_ENTRIES = 50_000;

async function walk(dir: string, acc: { bytes: number; files: number; partial: boolean }): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable: count what we can
  }
  for (const e of entries) {
    if (acc.files >= MAX_ENTRIES) { acc.partial = true; return; }
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, acc);
    else {
      try {
        const st = await lstat(path);
        acc.bytes += st.blocks ? st.blocks * 512 : st.size;
        acc.files++;
      } catch { /* gone */ }
    }
  }
}

/** measureDataDir walks a folder and asks its file system for free space. */
async function measureDataDir(dir: string): Promise<DiskUsage> {
  const acc = { bytes: 0, files: 0, partial: false };
  await walk(dir, acc);
  const out: DiskUsage = { usedBytes: acc.bytes, files: acc.files, partial: acc.partial };
  try {
    const fs = await statfs(dir);
    out.fsFreeBytes = fs.bavail * fs.bsize;
    out.fsTotalBytes = fs.blocks * fs.bsize;
  } catch (err) {
    out.error = `cannot read free space of ${dir}: ${(err as Error).message}`;
  }
  return out;
}

/** DiskUsageCache measures at most once per `ttlMs`. */
export class DiskUsageCache {
  readonly #dir: () => string;
  readonly #ttlMs: number;
  #last?: { at: number; usage: DiskUsage };
  #pending?: Promise<DiskUsage>;

  constructor(dir: () => string, ttlMs = 30_000) {
    this.#dir = dir;
    this.#ttlMs = ttlMs;
  }

  /** get returns a recent measurement. */
  async get(): Promise<DiskUsage> {
    if (this.#last && Date.now() - this.#last.at < this.#ttlMs) return this.#last.usage;
    this.#pending ??= measureDataDir(this.#dir()).then((usage) => {
      this.#last = { at: Date.now(), usage };
      return usage;
    }).finally(() => { this.#pending = undefined; });
    return this.#pending;
  }
}
