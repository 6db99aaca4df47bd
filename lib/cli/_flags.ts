/**
 * Shared flag parsing: every command parses its argv with the flags it
 * declares in commands.ts, and every command that reads a config file says
 * the same thing about a missing --config.
 */
import { INSTALLED_CONFIG_FILE } from "../config/installed.ts";
import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { PermissionError, UsageError } from "../errors.ts";
import { findCommand, type CommandName, type FlagsOf } from "./commands.ts";

/** DEFAULT_CONFIG_FILE is where install.sh puts the config; used when --config is not given. */
export const DEFAULT_CONFIG_FILE = INSTALLED_CONFIG_FILE;

/**
 * parseCommand parses a command's argv with the flags its row of COMMAND_TABLE
 * declares, and nothing else: a flag the row does not declare, a missing value
 * or a positional argument where the row names none is a UsageError (exit 2).
 * Values are typed from the declaration (string, boolean, string[] for a
 * repeatable flag; never undefined when the flag has a default).
 */
export function parseCommand<N extends CommandName>(name: N, args: string[]) {
  const spec = findCommand(name);
  if (!spec) throw new Error(`parseCommand: no command "${name}" in COMMAND_TABLE`);
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string; default?: string | boolean }> = {};
  for (const [flag, f] of Object.entries(spec.flags)) {
    options[flag] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}), ...(f.default !== undefined ? { default: f.default } : {}) };
  }
  try {
    return parseArgs({ args, options: options as FlagsOf<N>, allowPositionals: spec.args !== undefined, strict: true });
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
