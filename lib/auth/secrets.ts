/**
 * secrets.ts collects every secret value of a loaded config (client
 * passwords, leaf-node secrets), so the logger can redact them all.
 */
import type { UnibusConfig } from "../config/load.ts";
import { clientAuthSecrets } from "../config/section-client-auth.ts";
import { leafnodeSecrets } from "../config/section-leafnodes.ts";
import { systemAccountSecrets } from "../config/section-system-account.ts";

/** accessSecrets are the client and leaf-node secrets the logger must never print. */
export function accessSecrets(config: UnibusConfig): string[] {
  return [...clientAuthSecrets(config), ...leafnodeSecrets(config), ...systemAccountSecrets(config)];
}
