/**
 * _pem-pair.ts writes a certificate and its key as files: the key first
 * (0600), then the certificate (0644), each atomically, into a folder created
 * 0700. Existing files are kept unless forced: replacing a CA or a node
 * certificate by accident breaks every peer that trusts it.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { pathExists, writeFileAtomic } from "../fsutil.ts";

/** writePemPair writes DIR/names.key and DIR/names.cert and returns their paths. */
export async function writePemPair(
  dir: string,
  names: { cert: string; key: string },
  pem: { certPem: string; keyPem: string },
  what: string,
  force = false,
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, names.cert);
  const keyFile = join(dir, names.key);
  if (!force) await refuseExisting([certFile, keyFile], what);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(keyFile, pem.keyPem, 0o600);
  writeFileAtomic(certFile, pem.certPem, 0o644);
  return { certFile, keyFile };
}

/** refuseExisting throws a ConfigError naming the first file that exists, with the --force hint. */
async function refuseExisting(files: string[], what: string): Promise<void> {
  for (const file of files) {
    if (pathExists(file)) throw new ConfigError(`${file} already exists; refusing to overwrite ${what}. Use --force to replace it, or choose another --out folder`);
  }
}
