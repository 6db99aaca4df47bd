/**
 * config-drift.ts gathers the drift fact: whether the config file differs
 * from what the running node loaded, and whether the node refused it at its
 * last reload. The config-drift rule (rules/config-drift.ts) words it.
 */
import type { UnibusConfig } from "../config/load.ts";
import { configDigest, readAppliedConfig } from "../applied-config.ts";
import { readReloadOutcome } from "../reload-outcome.ts";
import type { DriftFact } from "./facts.ts";

/** configDrift compares the file with what the running node recorded; undefined when they match or nothing is recorded. */
export function configDrift(config: UnibusConfig): DriftFact | undefined {
  if (!config.file) return undefined;
  const applied = readAppliedConfig(config.node.dataDir);
  if (!applied || applied.file !== config.file) return undefined;
  const now = configDigest(config.file);
  if (!now || now === applied.sha256) return undefined;
  const outcome = readReloadOutcome(config.node.dataDir);
  const refused = outcome && !outcome.ok && outcome.startedAt >= applied.at ? outcome : undefined;
  return { appliedAt: applied.at, ...(refused ? { refused: refused.message } : {}) };
}
