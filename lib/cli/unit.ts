/**
 * unit.ts implements `unibus unit`: print the systemd unit for a config.
 * install.sh writes what it prints, so every fact the unit needs (low ports,
 * lame duck, data dir) comes from the node's own parser, not a shell reader.
 */
import { dirname } from "node:path";
import { loadConfig } from "../config/load.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { ConfigError } from "../errors.ts";
import { UNIT_TEMPLATE } from "../runtime-unit.ts";
import { renderUnit, unitFacts } from "../systemd/unit.ts";
import { configPath, parseCommand } from "./_flags.ts";

/** run prints the unit for --config; exit 2 when the config is invalid or cannot run as a service. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("unit", args);
  const file = configPath(values.config);
  // As the service sees it: systemd sets $STATE_DIRECTORY to the unit's StateDirectory.
  const config = loadConfig(file, { ...process.env, STATE_DIRECTORY: DEFAULTS.installedDataDir });
  const folder = dirname(config.file);
  if (config.node.dataDir === folder || config.node.dataDir.startsWith(`${folder}/`)) {
    throw new ConfigError(`${config.file}: node.data_dir resolves to ${config.node.dataDir}, inside the config's folder, which the service cannot write (ProtectSystem=strict; install.sh copies the config to ${DEFAULTS.installedConfigDir}). Remove data_dir (the service then uses ${DEFAULTS.installedDataDir}) or make it an absolute path elsewhere, like "/srv/unibus"`);
  }
  process.stdout.write(renderUnit(UNIT_TEMPLATE, unitFacts(config)));
  return 0;
}
