/**
 * config-check.ts validates a config without starting anything or writing
 * any file, prints what will probably fail at run time (lib/diagnosis/
 * preflight.ts: a clustered node named after its host, a bcrypt hash where a
 * secret is needed, max_file larger than the disk…), notes on what a sound
 * setting costs (lib/diagnosis/storage-notes.ts: sync = "always" on an SD
 * card) and the effective config (defaults filled, secrets redacted).
 */
import { loadConfig } from "../config/load.ts";
import { effectiveConfigToml } from "../config/effective.ts";
import { accessTable } from "../config/access-table.ts";
import { preflightWarnings } from "../diagnosis/preflight.ts";
import { storageNotes } from "../diagnosis/storage-notes.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { clusterUsersView } from "../access/client-users.ts";

/** run validates --config and prints warnings and the effective config; exit 2 on any error, 0 otherwise (warnings included). */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("config check", args);
  const config = loadConfig(configPath(values.config));
  const warnings = preflightWarnings(config);
  for (const w of warnings) process.stderr.write(`warning: ${config.file}: ${w.key}: ${w.message}\n`);
  const head = warnings.length ? `valid, with ${warnings.length} warning${warnings.length === 1 ? "" : "s"} (on stderr).` : "valid.";
  const cluster = clusterUsersView(config);
  const notes = storageNotes(config).map((n) => `# note: ${n.key}: ${n.message}\n`).join("");
  process.stdout.write(`# ${config.file}: ${head}\n#\n${notes ? `${notes}#\n` : ""}# Who may connect:\n${accessTable(config, "#   ", cluster.count)}${cluster.lines.map((l) => `#   ${l}\n`).join("")}#\n# Effective configuration (defaults filled in, secrets redacted):\n\n${effectiveConfigToml(config)}`);
  return 0;
}
