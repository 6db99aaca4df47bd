/**
 * cert-issue.ts implements `unibus cert issue`: issue a node certificate by
 * hand, for nodes that do not hold the CA key ([tls] cert and key).
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { CA_CERT_FILE, CA_KEY_FILE, DEFAULT_NODE_CERT_DAYS, describeCertificate, expectedSans, issueNodeCertificate, loadCa, writeNodeFiles } from "../pki/index.ts";
import { parseDays, parseCommand } from "./_flags.ts";


/** run issues node.pem and node-key.pem from the CA in --ca and prints the result; exit 2 on bad flags or CA files. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("cert issue", args);
  for (const flag of ["ca", "name", "out"] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required`);
  }
  const caDir = values.ca!;
  const name = values.name!.trim();
  const days = parseDays(values.days, DEFAULT_NODE_CERT_DAYS);

  const ca = await loadCa(join(caDir, CA_CERT_FILE), join(caDir, CA_KEY_FILE));
  const host = values["no-host-sans"] ? { hostname: "", addresses: [] } : undefined;
  const sans = expectedSans(name, values.san ?? [], host);
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
