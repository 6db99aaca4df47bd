/**
 * installed.ts spells commands for the operator of a node: the installed
 * config (install.sh's /etc/unibus/unibus.toml) needs no --config and is
 * reloaded through systemd, any other file is named. Status, the diagnosis
 * and the commands' hints all say it the same way.
 */
import { resolve } from "node:path";
import { DEFAULTS } from "./defaults.ts";

/** INSTALLED_CONFIG_FILE is where install.sh puts a node's config; the commands read it when --config is not given. */
export const INSTALLED_CONFIG_FILE = `${DEFAULTS.installedConfigDir}/unibus.toml`;

/** isInstalledConfig tells whether a config file (relative to the working directory, or absolute) is install.sh's. */
export function isInstalledConfig(file: string | undefined): boolean {
  return file !== undefined && resolve(file) === INSTALLED_CONFIG_FILE;
}

/** unibusCommand is "sudo unibus COMMAND", with --config FILE unless FILE is the installed config. */
export function unibusCommand(file: string | undefined, command: string): string {
  return `sudo unibus ${command}${file && !isInstalledConfig(file) ? ` --config ${file}` : ""}`;
}

/** reloadCommand is how the operator applies an edited config: systemd's reload for the installed one. */
export function reloadCommand(file: string | undefined): string {
  return isInstalledConfig(file) ? "sudo systemctl reload unibus" : unibusCommand(file, "reload");
}
