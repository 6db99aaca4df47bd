/**
 * applied-config.ts records which version of the config file the running
 * node applied (its SHA-256, at start and after each accepted reload), in
 * `<data_dir>/applied-config.json`. `unibus status` reads the file again and
 * compares: an edit not yet reloaded, or a reload the node refused, leaves
 * the node running older settings than the file shows, and status must say
 * so rather than print the file's values as if they were running.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./fsutil.ts";

/** AppliedConfig is the config file version a running node uses; `at` is milliseconds since the epoch. */
export interface AppliedConfig { file: string; sha256: string; at: number }

/** appliedConfigFile is where a node with this data dir records it. */
export function appliedConfigFile(dataDir: string): string {
  return join(dataDir, "applied-config.json");
}

/** configDigest is the hex SHA-256 of a config file's bytes; undefined when it cannot be read. */
export function configDigest(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** writeAppliedConfig records the version (0600, like reload.json); the caller logs a failure, never fails on it. */
export function writeAppliedConfig(dataDir: string, applied: AppliedConfig): void {
  writeFileAtomic(appliedConfigFile(dataDir), JSON.stringify(applied) + "\n", 0o600);
}

/** readAppliedConfig returns the last record, or undefined (none yet, unreadable, or not ours). */
export function readAppliedConfig(dataDir: string): AppliedConfig | undefined {
  try {
    const v = JSON.parse(readFileSync(appliedConfigFile(dataDir), "utf8")) as AppliedConfig;
    return typeof v.sha256 === "string" && typeof v.at === "number" && typeof v.file === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
