/**
 * disk-room.ts measures how much JetStream can store in a data dir: the free
 * space of its file system plus what JetStream already stores there. The
 * default jetstream.max_file and the warnings about it are derived from it,
 * so a Pi with a small SD card does not get an 8 GiB limit it cannot hold.
 */
import { lstatSync, readdirSync, statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { dataDirLayout } from "./data-dir.ts";

/** DiskRoom is the data dir's file system and JetStream's share of it. */
export interface DiskRoom { dir: string; freeBytes: number; totalBytes: number; storedBytes: number }

/** MAX_WALK bounds the walk of a large store; the sum is then a lower bound. */
const MAX_WALK = 50_000;

/** storedBytes adds up the space used by the files under a folder (bounded). */
export function storedBytes(dir: string): number {
  let total = 0;
  let seen = 0;
  const walk = (d: string) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (++seen > MAX_WALK) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try { const st = lstatSync(p); total += st.blocks ? st.blocks * 512 : st.size; } catch { /* gone */ }
      }
    }
  };
  walk(dir);
  return total;
}

/** diskRoom measures a data dir (or, before it exists, the folder it will be created in); undefined when nothing can be read. */
export function diskRoom(dataDir: string): DiskRoom | undefined {
  for (let dir = dataDir; ; dir = dirname(dir)) {
    try {
      const fs = statfsSync(dir);
      return { dir: dataDir, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize, storedBytes: storedBytes(dataDirLayout(dataDir).jetstream) };
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** DISK_SHARE is the part of the room the default limit takes, as nats-server does when it has no limit. */
export const DISK_SHARE = 0.75;
const MIB = 1024 * 1024;

/**
 * diskAwareMaxFile is the default jetstream.max_file: the ceiling (8 GiB),
 * or three quarters of what the disk can hold when that is less, in whole MiB.
 */
export function diskAwareMaxFile(dataDir: string, ceiling: number): number {
  const room = diskRoom(dataDir);
  if (!room) return ceiling;
  const share = Math.floor(((room.freeBytes + room.storedBytes) * DISK_SHARE) / MIB) * MIB;
  return Math.max(MIB, Math.min(ceiling, share));
}
