/**
 * section-admin.ts is the [admin] table of node.toml: where the admin page
 * and API listen, where their token comes from, and whether they may be
 * reached over the network. It owns the schema, the defaults mapping, the
 * cross checks and the effective (redacted) view of the table.
 */
import { z } from "zod";
import { filePath, listenValue } from "./_parsed.ts";
import { readSecretFile } from "../auth/secret-source.ts";
import { DEFAULTS } from "./defaults.ts";
import { differs, noSans, noSecrets, type ConfigIssue, type ResolveContext, type Section } from "./section.ts";
import { isLoopback, type HostPort } from "./units.ts";
import { dataDirLayout } from "../data-dir.ts";
import type { AdminConfig, UnibusConfig } from "./config-types.ts";
export type { AdminConfig } from "./config-types.ts";

/** ADMIN_TOKEN_ENV names the environment variable that can carry the admin token instead of a file. */
export const ADMIN_TOKEN_ENV = "UNIBUS_ADMIN_TOKEN";
/** ADMIN_TOKEN_MIN_LENGTH rejects tokens short enough to guess. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

const bool = () => z.boolean({ error: "expected true or false" });

const table = z.strictObject({
  enabled: bool().default(DEFAULTS.adminEnabled),
  listen: listenValue.default(DEFAULTS.adminListen),
  token_file: filePath.optional(),
  tls: bool().default(DEFAULTS.adminTls),
  allow_insecure: bool().default(DEFAULTS.adminAllowInsecure),
}).prefault({});


/** schema resolves the token file against the config's folder (default: in the data dir). */
function schema(ctx: ResolveContext) {
  return table.transform((raw): AdminConfig => ({
    enabled: raw.enabled,
    listen: raw.listen,
    tokenFile: raw.token_file ? ctx.at(raw.token_file) : dataDirLayout(ctx.dataDir).adminToken,
    tokenGenerated: !raw.token_file,
    tokenFromEnv: Boolean(ctx.env[ADMIN_TOKEN_ENV]),
    tls: raw.tls,
    allowInsecure: raw.allow_insecure,
  }));
}

/** checkAdmin finds what spans several keys: clear text on the network, TLS without a certificate, token files. */
function checkAdmin(config: UnibusConfig): ConfigIssue[] {
  const admin = config.admin;
  const issues: ConfigIssue[] = [];
  if (!admin.enabled) return issues;
  if (!isLoopback(admin.listen.host) && !admin.tls && !admin.allowInsecure) {
    issues.push({
      path: ["admin", "listen"],
      message: `expected a loopback address (127.0.0.1 or [::1]) unless tls = true or allow_insecure = true: the admin token would cross the network in clear text; got "${admin.listen.text}"`,
    });
  }
  if (admin.tls && !config.tls) {
    issues.push({ path: ["admin", "tls"], message: "expected a [tls] section: the admin page serves HTTPS with the node certificate" });
  }
  if (!admin.tokenGenerated && !admin.tokenFromEnv) {
    const secret = readSecretFile(admin.tokenFile, "token_file");
    if (secret.error) {
      const what = secret.error.startsWith("file not found") ? "" : "expected a private file (mode 0600): ";
      issues.push({ path: ["admin", "token_file"], message: `${what}${secret.error} (or remove token_file to have a token generated)` });
    }
  }
  return issues;
}

/** effectiveAdmin is the [admin] table for `config check` and the admin page; the token itself never appears. */
function effectiveAdmin(config: UnibusConfig): Record<string, unknown> {
  const admin = config.admin;
  return {
    enabled: admin.enabled,
    listen: admin.listen.text,
    token_file: admin.tokenFile,
    token: admin.tokenFromEnv ? `<redacted: from env ${ADMIN_TOKEN_ENV}>` : `<redacted: from ${admin.tokenFile}${admin.tokenGenerated ? ", generated on first start" : ""}>`,
    tls: admin.tls,
    allow_insecure: admin.allowInsecure,
  };
}

/**
 * adminSection is the [admin] table. Its token is a secret, but it is not in
 * the config: the admin server reads it at start and registers it with the
 * logger itself (admin/server.ts), so secrets() has nothing to add here.
 */
export const adminSection = {
  key: "admin",
  schema,
  checks: checkAdmin,
  listeners: ({ admin }) => (admin.enabled ? [{ path: ["admin", "listen"], listen: admin.listen }] : []),
  secrets: noSecrets,
  sans: noSans,
  render: () => ({}),
  effective: effectiveAdmin,
  restartOnly: (a, b) => (differs("[admin]", a.admin, b.admin)),
} satisfies Section<"admin", AdminConfig>;
