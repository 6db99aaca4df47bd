/**
 * config-drift.ts is the rule for a node that runs other settings than its
 * config file shows: the file was edited and not reloaded, or the node
 * refused the reload (a key that needs a restart, a bad value). Everything
 * else status prints comes from the file, so this is the line that says the
 * file is not what runs.
 */
import { isInstalledConfig, reloadCommand, unibusCommand } from "../../config/installed.ts";
import { defineRule } from "../rule.ts";

/** configDriftRule reports config_not_applied from the drift fact (lib/diagnosis/config-drift.ts gathers it). */
export const configDriftRule = defineRule({
  name: "config-drift",
  kinds: ["config_not_applied"],
  check({ facts: f }) {
    const drift = f.drift;
    if (!drift) return [];
    const file = f.config.file;
    const since = new Date(drift.appliedAt).toISOString().replace(/\.\d+Z$/, "Z");
    const reload = reloadCommand(file);
    if (drift.refused !== undefined) {
      return [{
        kind: "config_not_applied", severity: "degraded", node: f.node,
        cause: `${file} has changed, and the running node refused it at its last reload (${drift.refused}): it still runs the version it loaded at ${since}, so what this status shows from the file is not all in force`,
        fix: /restart unibus/.test(drift.refused) ? `restart to apply it: ${isInstalledConfig(file) ? "sudo systemctl restart unibus" : "stop unibus and start it again"} (one node at a time in a cluster)` : `correct the file (${unibusCommand(file, "config check")} shows where), then: ${reload}`,
      }];
    }
    return [{
      kind: "config_not_applied", severity: "degraded", node: f.node,
      cause: `${file} has changed since the running node loaded it at ${since}: the change is not in force yet`,
      fix: `apply it: ${reload} (a key that needs a restart is named in the answer)`,
    }];
  },
});
