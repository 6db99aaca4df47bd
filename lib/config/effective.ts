/**
 * effective.ts renders the effective config back as TOML for `config check`
 * and the admin page: every default filled in, every path absolute, every
 * secret replaced by a marker saying where it comes from. Each section
 * writes its own table.
 */
import { stringify } from "smol-toml";
import { SECTIONS, type UnibusConfig } from "./sections.ts";
import { tableName } from "./section.ts";

/** effectiveConfigObject is the config as plain TOML-shaped data, secrets redacted. */
export function effectiveConfigObject(config: UnibusConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const section of SECTIONS) {
    const table = section.effective(config);
    if (table) out[tableName(section)] = table;
  }
  return out;
}

/** effectiveConfigToml renders effectiveConfigObject as TOML text. */
export function effectiveConfigToml(config: UnibusConfig): string {
  return stringify(effectiveConfigObject(config));
}
