/**
 * storage-notes.ts says what a sound storage setting costs, for `config
 * check`: `jetstream.sync = "always"` (the default) fsyncs before every
 * acknowledgement, which keeps every acknowledged write through a power cut
 * (tests/power-loss-*.test.ts) but makes each write wait for the disk, and
 * SD cards flush slowly. These are notes, not warnings: nothing is wrong.
 */
import type { UnibusConfig } from "../config/load.ts";

/** StorageNote is one note about the storage settings, with the key it is about. */
export interface StorageNote { key: string; message: string }

/**
 * SD_CARD_SYNC_COST is the measured cost of `sync = "always"` on an SD-card
 * stand-in (bench/sd-card-sync.ts: a VM data disk throttled to 200 write IOPS
 * and 10 MB/s), quoted in the note and in README ("Power cuts and SD cards").
 */
export const SD_CARD_SYNC_COST =
  "on an SD card every acknowledged write waits for the card to flush (milliseconds to tens of milliseconds each): on a card-like disk (200 write IOPS, 10 MB/s) eight publishers got 18 acknowledged writes per second with \"always\" against 256 with \"2m\"";

/** storageNotes lists the notes for a loaded config (none when JetStream is off). */
export function storageNotes(config: UnibusConfig): StorageNote[] {
  if (!config.jetstream.enabled || config.jetstream.sync !== "always") return [];
  return [{
    key: "jetstream.sync",
    message: `"always" (the default) fsyncs before every acknowledgement, so a power cut loses no acknowledged write; ${SD_CARD_SYNC_COST}. ` +
      `On a Raspberry Pi put node.data_dir (${config.node.dataDir}) on a USB SSD; sync = "2m" is faster on a card but a power cut then loses the writes of the last minutes`,
  }];
}
