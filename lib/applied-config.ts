/**
 * applied-config.ts records which version of the config file the running
 * node applied (its SHA-256, at start and after each accepted reload), in
 * `<data_dir>/applied-config.json`. `unibus status` reads the file again and
 * compares: an edit not yet reloaded, or a reload the node refused, leaves
 * the node running older settings than the file shows, and status must say
 * so rather than print the file's values as if they were running.
 *
 * Beside it, `<data_dir>/applied-config.toml` (0600) keeps the text the node
 * applied: when the file is later edited into an invalid one, status still
 * judges the running node by what it runs instead of only printing the error.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dataDirLayout } from "./data-dir.ts";
import { writeFileAtomic } from "./fsutil.ts";

/** AppliedConfig is the config file version a running node uses; `at` is milliseconds since the epoch. */
export interface AppliedConfig { file: string; sha256: string; at: number }

/** appliedConfigFile is where a node with this data dir records it. */
export function appliedConfigFile(dataDir: string): string {
  return dataDirLayout(dataDir).appliedConfig;
}

/** appliedConfigCopy is where a node keeps the text of the config it applied. */
export function appliedConfigCopy(dataDir: string): string {
  return dataDirLayout(dataDir).appliedConfigText;
}

/** ConfigSnapshot is one read of a config file: its text and the SHA-256 of its bytes. */
export interface ConfigSnapshot { text: string; sha256: string }

/** readConfigSnapshot reads a config file once for its digest and text; undefined when it cannot be read. */
export function readConfigSnapshot(file: string): ConfigSnapshot | undefined {
  try {
    const bytes = readFileSync(file);
    return { text: bytes.toString("utf8"), sha256: createHash("sha256").update(bytes).digest("hex") };
  } catch {
    return undefined;
  }
}

/** configDigest is the hex SHA-256 of a config file's bytes; undefined when it cannot be read. */
export function configDigest(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/**
 * writeAppliedConfig records the version (0600, like reload.json) and, given
 * the text, a 0600 copy of it (it may hold secrets); the caller logs a
 * failure, never fails on it.
 */
export function writeAppliedConfig(dataDir: string, applied: AppliedConfig, text?: string): void {
  if (text !== undefined) writeFileAtomic(appliedConfigCopy(dataDir), text, 0o600);
  writeFileAtomic(appliedConfigFile(dataDir), JSON.stringify(applied) + "\n", 0o600);
}

/** readAppliedConfigText returns the applied config's text when the copy matches the recorded digest. */
export function readAppliedConfigText(dataDir: string): { applied: AppliedConfig; text: string } | undefined {
  const applied = readAppliedConfig(dataDir);
  if (!applied) return undefined;
  try {
    const bytes = readFileSync(appliedConfigCopy(dataDir));
    if (createHash("sha256").update(bytes).digest("hex") !== applied.sha256) return undefined;
    return { applied, text: bytes.toString("utf8") };
  } catch {
    return undefined;
  }
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
