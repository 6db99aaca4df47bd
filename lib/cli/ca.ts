/**
 * ca.ts implements `unibus ca create`: make a cluster CA once, copy ca.pem to
 * every node, and ca-key.pem to the nodes that may issue their own certificates.
 */
import { UsageError } from "../errors.ts";
import { DEFAULT_CA_DAYS, DEFAULT_CA_NAME, createCa, writeCaFiles } from "../pki/index.ts";
import { parseDays, parseCommand } from "./_flags.ts";


/** run creates the CA files and prints where they are; exit 2 on bad flags or when a CA already exists there. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("ca create", args);
  if (!values.out) throw new UsageError(`--out DIR is required`);
  const name = values.name ?? DEFAULT_CA_NAME;
  if (!name.trim()) throw new UsageError("--name must not be empty");
  const days = parseDays(values.days, DEFAULT_CA_DAYS);

  const ca = await createCa({ name, days });
  const { certFile, keyFile } = await writeCaFiles(values.out, ca, { force: values.force });
  process.stdout.write(
    `created CA "${name}", valid until ${ca.cert.notAfter.toISOString()} (${days} days)\n` +
      `  certificate  ${certFile}  (0644: copy it to every node, [tls] ca_cert)\n` +
      `  private key  ${keyFile}  (0600: keep it secret and backed up; nodes holding it, [tls] ca_key, issue their own certificates)\n`,
  );
  return 0;
}
