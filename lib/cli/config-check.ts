/**
 * config-check.ts validates a config without starting anything or writing
 * any file, and prints the effective config (defaults filled, secrets redacted).
 */
import { loadConfig } from "../config/load.ts";
import { effectiveConfigToml } from "../config/effective.ts";
import { accessTable } from "../auth/access-table.ts";
import { configPath, parseFlags } from "./_flags.ts";

/** run validates --config and prints the effective config; exit 2 on any error. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { config: { type: "string", short: "c" } });
  const config = loadConfig(configPath(values.config));
  process.stdout.write(`# ${config.file}: valid.\n#\n# Who may connect:\n${accessTable(config, "#   ")}#\n# Effective configuration (defaults filled in, secrets redacted):\n\n${effectiveConfigToml(config)}`);
  return 0;
}
