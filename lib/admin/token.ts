/**
 * token.ts finds the admin token: $UNIBUS_ADMIN_TOKEN, the [admin]
 * token_file, or <data_dir>/admin.token, which is generated (0600) on the
 * first start. The caller prints a generated token once, at its creation,
 * and registers it as a secret so no later log line can carry it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { readSecretFile } from "../auth/secret-source.ts";
import { ADMIN_TOKEN_ENV, ADMIN_TOKEN_MIN_LENGTH, type AdminConfig } from "../config/section-admin.ts";

/** AdminToken is the token and where it came from (never the token in `source`). */
export interface AdminToken {
  value: string;
  /** True when this call created the token file. */
  generated: boolean;
  source: string;
}

/** generateToken makes 256 random bits, URL-safe. */
function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

function checkValue(value: string, source: string): string {
  const token = value.trim();
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ConfigError(`admin token from ${source} is too short: expected at least ${ADMIN_TOKEN_MIN_LENGTH} characters`);
  }
  if (/\s/.test(token)) throw new ConfigError(`admin token from ${source} contains white space: expected one word`);
  return token;
}

/** loadAdminToken reads, or on first start generates, the admin token. */
export function loadAdminToken(admin: AdminConfig, env: Record<string, string | undefined> = process.env): AdminToken {
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv) return { value: checkValue(fromEnv, `$${ADMIN_TOKEN_ENV}`), generated: false, source: `$${ADMIN_TOKEN_ENV}` };
  const file = admin.tokenFile;
  if (!existsSync(file)) {
    if (!admin.tokenGenerated) throw new ConfigError(`admin token file ${file} does not exist; expected a file holding the token (or remove [admin] token_file to have one generated)`);
    const value = generateToken();
    writeFileAtomic(file, `${value}\n`, 0o600);
    return { value, generated: true, source: file };
  }
  // The same rules as every other secret file: private to the node (see exposedBits), readable, one line.
  const secret = readSecretFile(file, "token_file");
  if (secret.error) throw new ConfigError(`admin token: ${secret.error}`);
  return { value: checkValue(secret.value!, file), generated: false, source: file };
}
