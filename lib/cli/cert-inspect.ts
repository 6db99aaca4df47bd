/**
 * cert-inspect.ts implements `unibus cert inspect`: what a certificate says
 * and whether it chains to the cluster CA, without reaching for openssl.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { UsageError } from "../errors.ts";
import { CA_CERT_FILE, checkChain, describeCertificate, formatReport, readCertificateFile, type ChainCheck } from "../pki/index.ts";
import { parseCommand } from "./_flags.ts";


/** run prints the certificate's subject, issuer, serial, validity, SANs, usages and chain status. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("cert inspect", args);
  if (positionals.length !== 1) throw new UsageError(`expected exactly one certificate FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  const now = new Date();
  const cert = await readCertificateFile(file, "certificate");

  const beside = join(dirname(file), CA_CERT_FILE);
  const caFile = values.ca ?? (existsSync(beside) ? beside : undefined);
  let chain: ChainCheck = { status: "unchecked", detail: "not checked (no --ca and no ca.pem next to the file)" };
  if (caFile) chain = await checkChain(cert, await readCertificateFile(caFile, "CA certificate"), caFile, now);

  const report = describeCertificate(cert, now);
  process.stdout.write(formatReport(file, report, chain));
  const inValidity = now >= cert.notBefore && now <= cert.notAfter;
  return chain.status === "failed" || !inValidity ? 1 : 0;
}
