/**
 * reload-outcome.ts is how a reload request learns its result. A running node
 * writes the outcome of every reload to `<data_dir>/reload.json`; `unibus
 * reload` (systemd's ExecReload) sends SIGHUP and waits for an outcome that
 * started after its signal, so `systemctl reload` fails when unibus refused
 * the change, the way `caddy reload` does.
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "./data-dir.ts";
import { writeFileAtomic } from "./fsutil.ts";

/** ReloadOutcome is one reload's result; times are milliseconds since the epoch. */
export interface ReloadOutcome {
  /** When the node began loading the file (after it received SIGHUP). */
  startedAt: number;
  finishedAt: number;
  ok: boolean;
  /** "configuration reloaded", or why it was refused (never a secret: already redacted). */
  message: string;
  /** The config file the node read. */
  config: string;
}

/** reloadOutcomeFile is where a node with this data dir writes its outcomes. */
export function reloadOutcomeFile(dataDir: string): string {
  return dataDirLayout(dataDir).reloadOutcome;
}

/** writeReloadOutcome records an outcome atomically (0600: it can name file paths and reasons). */
export function writeReloadOutcome(dataDir: string, outcome: ReloadOutcome): void {
  writeFileAtomic(reloadOutcomeFile(dataDir), JSON.stringify(outcome) + "\n", 0o600);
}

/** readReloadOutcome returns the last recorded outcome, or undefined when there is none (or it is unreadable). */
export function readReloadOutcome(dataDir: string): ReloadOutcome | undefined {
  try {
    const value = JSON.parse(readFileSync(reloadOutcomeFile(dataDir), "utf8")) as ReloadOutcome;
    return typeof value.startedAt === "number" && typeof value.ok === "boolean" ? value : undefined;
  } catch {
    return undefined;
  }
}
