/**
 * token.ts finds the admin token: $UNIBUS_ADMIN_TOKEN, the [admin]
 * token_file, or <data_dir>/admin.token, which is generated (0600) on the
 * first start. The caller prints a generated token once, at its creation,
 * and registers it as a secret so no later log line can carry it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { exposedBits, writeFileAtomic } from "../fsutil.ts";
import { ADMIN_TOKEN_ENV, ADMIN_TOKEN_MIN_LENGTH, type AdminConfig } from "../config/section-admin.ts";

/** AdminToken is the token and where it came from (never the token in `source`). */
export interface AdminToken {
  value: string;
  /** True when this call created the token file. */
  generated: boolean;
  source: string;
}

/** generateToken makes 256 random bits, URL-safe. */
export function generateToken(): string {
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
  let mode: number | undefined;
  let owner = { uid: 0, gid: 0 };
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError(`admin token file ${file} is not a regular file`);
    mode = st.mode & 0o777;
    owner = { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError(`cannot read admin token file ${file}: ${(err as Error).message}`);
  }
  if (mode === undefined) {
    if (!admin.tokenGenerated) throw new ConfigError(`admin token file ${file} does not exist; expected a file holding the token (or remove [admin] token_file to have one generated)`);
    const value = generateToken();
    writeFileAtomic(file, `${value}\n`, 0o600);
    return { value, generated: true, source: file };
  }
  if (exposedBits({ mode, uid: owner.uid, gid: owner.gid }) !== 0) {
    throw new ConfigError(`admin token file ${file} is readable by others (mode ${mode.toString(8).padStart(4, "0")}); expected 0600: run chmod 600 ${file}`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read admin token file ${file}: ${(err as Error).message}`);
  }
  return { value: checkValue(text, file), generated: false, source: file };
}
