/**
 * config-drift.ts finds a node that runs other settings than its config file
 * shows: the file was edited and not reloaded, or the node refused the reload
 * (a key that needs a restart, a bad value). Everything else status prints
 * comes from the file, so this is the line that says the file is not what runs.
 */
import { isInstalledConfig, reloadCommand, unibusCommand } from "../config/installed.ts";
import type { UnibusConfig } from "../config/load.ts";
import { configDigest, readAppliedConfig } from "../applied-config.ts";
import { readReloadOutcome } from "../reload-outcome.ts";
import type { Problem } from "./problem.ts";

/** configDriftProblem compares the file with what the running node recorded; undefined when they match or nothing is recorded. */
export function configDriftProblem(config: UnibusConfig, node: string): Problem | undefined {
  if (!config.file) return undefined;
  const applied = readAppliedConfig(config.node.dataDir);
  if (!applied || applied.file !== config.file) return undefined;
  const now = configDigest(config.file);
  if (!now || now === applied.sha256) return undefined;
  const installed = isInstalledConfig(config.file);
  const reload = reloadCommand(config.file);
  const outcome = readReloadOutcome(config.node.dataDir);
  const refused = outcome && !outcome.ok && outcome.startedAt >= applied.at ? outcome : undefined;
  const since = new Date(applied.at).toISOString().replace(/\.\d+Z$/, "Z");
  if (refused) {
    return {
      kind: "config_not_applied", severity: "degraded", node,
      cause: `${config.file} has changed, and the running node refused it at its last reload (${refused.message}): it still runs the version it loaded at ${since}, so what this status shows from the file is not all in force`,
      fix: /restart unibus/.test(refused.message) ? `restart to apply it: ${installed ? "sudo systemctl restart unibus" : "stop unibus and start it again"} (one node at a time in a cluster)` : `correct the file (${unibusCommand(config.file, "config check")} shows where), then: ${reload}`,
    };
  }
  return {
    kind: "config_not_applied", severity: "degraded", node,
    cause: `${config.file} has changed since the running node loaded it at ${since}: the change is not in force yet`,
    fix: `apply it: ${reload} (a key that needs a restart is named in the answer)`,
  };
}
