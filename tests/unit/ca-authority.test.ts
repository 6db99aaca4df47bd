/**
 * The CA holder's one CA object (lib/membership/ca-authority.ts), on real
 * CA files: it reads them and imports the key once, again only when a file
 * changes or it is told; during a rotation the old CA signs until the
 * members that are up trust the new one, and a check-in that shows it moves
 * the gate at once, without a poll.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { UnibusConfig } from "../../lib/config/load.ts";
import { Logger } from "../../lib/log.ts";
import { CaAuthority } from "../../lib/membership/ca-authority.ts";
import { MemberRegistry } from "../../lib/membership/members.ts";
import { startRotation } from "../../lib/pki/ca-rotation.ts";
import { certFingerprint } from "../../lib/pki/trust.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-ca-authority-");
afterAll(() => dir[Symbol.dispose]());

async function authority(sub: string, onSigningChanged?: () => Promise<void>) {
  const ca = await makeCaDir(dir.path, sub);
  const dataDir = join(dir.path, `${sub}-data`);
  const config = { node: { name: "a", dataDir }, tls: { caCert: ca.cert, caKey: ca.key } } as unknown as UnibusConfig;
  const lines: string[] = [];
  const log = new Logger({ level: "debug", format: "text", sink: (l) => { lines.push(l); } });
  const auth = new CaAuthority({ config: () => config, log, ...(onSigningChanged ? { onSigningChanged } : {}) });
  return { auth, ca, dataDir, lines };
}

test("the CA files are read and the key imported once; a changed file or a refresh reads them again", async () => {
  const { auth, ca } = await authority("once");
  const first = await auth.signing();
  for (let i = 0; i < 5; i++) expect(await auth.signing()).toBe(first);
  await auth.serviceCa();
  expect(auth.reads).toBe(1);
  auth.refresh();
  await auth.signing();
  expect(auth.reads).toBe(2);
  await startRotation(ca.cert, ca.key);
  await auth.trust();
  expect(auth.reads).toBe(3);
  expect((await auth.trust()).length).toBe(2);
  auth.stop();
});

test("in a rotation the old CA signs until the members that are up trust the new one; the check-in that shows it moves the gate", async () => {
  let reissued = 0;
  const { auth, ca, dataDir } = await authority("gate", async () => { reissued++; });
  const registry = new MemberRegistry(dataDir);
  const now = Date.now();
  registry.put({ name: "a", id: "1".repeat(32), route: "10.0.0.1:6222", joinedAt: new Date(now).toISOString(), updatedAt: now, service: "10.0.0.1:6223" });
  registry.put({ name: "b", id: "2".repeat(32), route: "10.0.0.2:6222", joinedAt: new Date(now).toISOString(), updatedAt: now });
  const gate = auth.useGate(registry, "a");
  const old = await auth.signing();
  const state = await startRotation(ca.cert, ca.key);
  const nextFp = certFingerprint(state.next!);
  gate.report("b", [certFingerprint(old.cert)]);
  await auth.evaluate();
  expect(certFingerprint((await auth.signing()).cert)).toBe(certFingerprint(old.cert));
  expect(reissued).toBe(0);
  gate.report("b", [certFingerprint(old.cert), nextFp]); // b learned the new CA: no poll, the report moves it
  await new Promise((r) => setTimeout(r, 50));
  expect(certFingerprint((await auth.signing()).cert)).toBe(nextFp);
  expect(reissued).toBe(1);
  auth.stop();
});
