/**
 * section-tls.ts is the [tls] table: the cluster CA, and either the CA key
 * (the node issues and renews its own certificate) or a certificate issued
 * elsewhere. Every other table that speaks TLS uses the node certificate the
 * PKI derives from it.
 */
import { statSync } from "node:fs";
import { blockedFolder } from "../fsutil.ts";
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { filePath } from "./_parsed.ts";
import { noListeners, noSecrets, presence, type ConfigIssue, type ResolveContext, type Section } from "./section.ts";
import type { TlsConfig, UnibusConfig } from "./config-types.ts";
export type { TlsConfig } from "./config-types.ts";

const table = z.strictObject({
  ca_cert: filePath,
  ca_key: filePath.optional(),
  cert: filePath.optional(),
  key: filePath.optional(),
  sans: z.array(z.string({ error: "expected a host name or IP address" }).min(1)).default([]),
  client_tls: z.boolean({ error: "expected true or false" }).default(DEFAULTS.clientTls),
  lifetime_days: z.number({ error: "expected a number of days" }).int().min(2).max(3650).default(DEFAULTS.certLifetimeDays),
});

function schema(ctx: ResolveContext) {
  return table.optional().transform((raw) => raw && {
    caCert: ctx.at(raw.ca_cert),
    ...(raw.ca_key ? { caKey: ctx.at(raw.ca_key) } : {}),
    ...(raw.cert ? { cert: ctx.at(raw.cert) } : {}),
    ...(raw.key ? { key: ctx.at(raw.key) } : {}),
    sans: raw.sans,
    clientTls: raw.client_tls,
    lifetimeDays: raw.lifetime_days,
  });
}


/** checkTls: the PEM files exist, and the node has a way to a certificate. */
function checkTls({ tls }: UnibusConfig): ConfigIssue[] {
  if (!tls) return [];
  const issues: ConfigIssue[] = [];
  const files: [string, string | undefined][] = [["ca_cert", tls.caCert], ["ca_key", tls.caKey], ["cert", tls.cert], ["key", tls.key]];
  for (const [key, file] of files) {
    if (!file) continue;
    const blocked = blockedFolder(file);
    if (blocked) {
      issues.push({ path: ["tls", key], message: blocked });
      continue;
    }
    try {
      if (!statSync(file).isFile()) issues.push({ path: ["tls", key], message: `expected a PEM file, ${file} is not a regular file` });
    } catch {
      issues.push({ path: ["tls", key], message: `file not found: ${file}` });
    }
  }
  if (!tls.caKey && !(tls.cert && tls.key)) issues.push({ path: ["tls"], message: "expected either ca_key (the node issues its own certificate) or both cert and key" });
  if (Boolean(tls.cert) !== Boolean(tls.key)) issues.push({ path: ["tls", tls.cert ? "cert" : "key"], message: "expected cert and key together" });
  return issues;
}

/** tlsSection is the [tls] table; it renders the client port's TLS. */
export const tlsSection = {
  key: "tls",
  schema,
  checks: checkTls,
  listeners: noListeners,
  secrets: noSecrets,
  sans: ({ tls }) => tls?.sans ?? [],
  render: ({ tls }, { tls: files }) => (files && tls?.clientTls ? { tls: { cert_file: files.certFile, key_file: files.keyFile, ca_file: files.caFile, timeout: DEFAULTS.tlsTimeoutS } } : {}),
  effective: ({ tls }) => tls && {
    ca_cert: tls.caCert,
    ...(tls.caKey ? { ca_key: tls.caKey } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    sans: tls.sans,
    client_tls: tls.clientTls,
    lifetime_days: tls.lifetimeDays,
  },
  restartOnly: (a, b) => presence("tls", a.tls, b.tls) ?? (Boolean(a.tls?.caKey) !== Boolean(b.tls?.caKey) ? "tls.ca_key (adding or removing it)" : undefined),
} satisfies Section<"tls", TlsConfig | undefined>;
