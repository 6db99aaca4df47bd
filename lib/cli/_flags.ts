/**
 * Shared flag parsing for commands that read a config file, so every command
 * says the same thing about a missing --config.
 */
import { INSTALLED_CONFIG_FILE } from "../config/installed.ts";
import { existsSync, statSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { PermissionError, UsageError } from "../errors.ts";

/** DEFAULT_CONFIG_FILE is where install.sh puts the config; used when --config is not given. */
export const DEFAULT_CONFIG_FILE = INSTALLED_CONFIG_FILE;

/** parseFlags wraps node:util parseArgs and turns its errors into UsageError (exit 2). */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** configPath returns --config, or the installed default when it exists. */
export function configPath(value: string | undefined): string {
  if (value) return value;
  if (existsSync(DEFAULT_CONFIG_FILE)) return DEFAULT_CONFIG_FILE;
  // /etc/unibus is 0750 root:unibus: another user cannot even see that the file is there.
  try {
    statSync(DEFAULT_CONFIG_FILE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EACCES") {
      throw new PermissionError(`cannot read ${DEFAULT_CONFIG_FILE}: permission denied (it is root:unibus 0640); run it with sudo, or pass --config FILE`);
    }
  }
  throw new UsageError(`--config FILE is required (no ${DEFAULT_CONFIG_FILE} either); try: unibus --config config/node.toml`);
}

/** parseDays reads a --days flag: a whole number of days, at least 1. */
export function parseDays(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1) throw new UsageError(`--days ${JSON.stringify(value)} is invalid: expected a whole number of days >= 1`);
  return days;
}
