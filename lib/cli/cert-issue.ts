/**
 * cert-issue.ts implements `unibus cert issue`: issue a node certificate by
 * hand, for nodes that do not hold the CA key ([tls] cert and key).
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { CA_CERT_FILE, CA_KEY_FILE, DEFAULT_NODE_CERT_DAYS, describeCertificate, expectedSans, issueNodeCertificate, loadCa, writeNodeFiles } from "../pki/index.ts";
import { parseDays, parseFlags } from "./_flags.ts";

const USAGE = `usage: unibus cert issue --ca DIR --name NAME [--san S ...] [--days N] --out DIR [--force] [--no-host-sans]
  --ca DIR         folder holding ca.pem and ca-key.pem (from unibus ca create)
  --name NAME      node name: the certificate's CN and first DNS SAN
  --san S          extra SAN, repeatable; IPv4/IPv6 addresses become IP SANs, anything else DNS
  --days N         lifetime in days (default ${DEFAULT_NODE_CERT_DAYS}; never beyond the CA's own expiry)
  --out DIR        folder for node.pem (0644) and node-key.pem (0600)
  --force          replace existing node.pem / node-key.pem
  --no-host-sans   leave out this host's name and addresses (when issuing for another machine)
`;

/** run issues node.pem and node-key.pem from the CA in --ca and prints the result; exit 2 on bad flags or CA files. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    ca: { type: "string" },
    name: { type: "string", short: "n" },
    san: { type: "string", multiple: true, default: [] },
    days: { type: "string" },
    out: { type: "string", short: "o" },
    force: { type: "boolean", default: false },
    "no-host-sans": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  for (const flag of ["ca", "name", "out"] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required\n${USAGE}`);
  }
  const caDir = values.ca!;
  const name = values.name!.trim();
  const days = parseDays(values.days, DEFAULT_NODE_CERT_DAYS);

  const ca = await loadCa(join(caDir, CA_CERT_FILE), join(caDir, CA_KEY_FILE));
  const host = values["no-host-sans"] ? { hostname: "", addresses: [] } : undefined;
  const sans = expectedSans(name, values.san, host);
  const issued = await issueNodeCertificate(ca, { name, sans, days });
  const { certFile, keyFile } = await writeNodeFiles(values.out!, issued, { force: values.force });
  const report = describeCertificate(issued.cert);
  process.stdout.write(
    `issued node certificate for "${name}", signed by ${report.issuer}, valid until ${report.notAfter.toISOString()} (${report.daysLeft} days)\n` +
      `  certificate  ${certFile}  (0644, [tls] cert)\n` +
      `  private key  ${keyFile}  (0600, [tls] key)\n` +
      `  sans         ${report.sans.join(", ")}\n`,
  );
  return 0;
}
