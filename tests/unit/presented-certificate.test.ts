/**
 * Which certificate a node presents is decided in one place
 * (lib/membership/presented-certificate.ts), on real certificate files: a CA
 * holder presents what it issues; a member the pair renewed through a CA
 * holder only once that pair can work (its key, a trusted CA, its name, in
 * force by the clock) and outlives the configured one, through every phase of
 * a CA rotation; and the running node's certificate (identity.ts, which
 * renders nats-server's files and serves the admin page) is the one status
 * reads.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { UnibusConfig } from "../../lib/config/load.ts";
import { dataDirLayout } from "../../lib/data-dir.ts";
import { IdentityManager } from "../../lib/identity.ts";
import { Logger } from "../../lib/log.ts";
import { choosePresented, presentedCertificate } from "../../lib/membership/presented-certificate.ts";
import { issueNodeCertificate, loadCa, writeNodeFiles } from "../../lib/pki/index.ts";
import { readFileSync } from "node:fs";
import { DAY, makeCaDir } from "../pki-fixtures.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-presented-");
afterAll(() => dir[Symbol.dispose]());
const NOW = new Date();

let n = 0;
/** member makes a member without the CA key: a configured pair under etc/, and a data dir. */
async function member(options: { caCert: string }) {
  const root = join(dir.path, `m${n++}`);
  const dataDir = join(root, "data");
  mkdirSync(dataDirLayout(dataDir).tls, { recursive: true });
  const etc = join(root, "etc");
  const config = { file: join(root, "node.toml"), node: { name: "pi2", dataDir }, tls: { caCert: options.caCert, cert: join(etc, "node.pem"), key: join(etc, "node-key.pem") } } as unknown as UnibusConfig;
  return { config, dataDir, etc, renewed: dataDirLayout(dataDir).nodeCert };
}

/** issue writes a certificate for `name` from the CA in caDir into dir, issued at `at` for `days`. */
async function issue(ca: { cert: string; key: string }, into: string, options: { name?: string; at?: Date; days?: number } = {}) {
  const loaded = await loadCa(ca.cert, ca.key);
  const cert = await issueNodeCertificate(loaded, { name: options.name ?? "pi2", sans: ["pi2"], days: options.days ?? 90, now: options.at ?? NOW });
  await writeNodeFiles(into, cert, { force: true });
}

const bundle = (dataDir: string, ...cas: string[]) => writeFileSync(dataDirLayout(dataDir).trustBundle, cas.map((f) => readFileSync(f, "utf8")).join(""));

describe("the choice on facts", () => {
  const renewed = { certFile: "/d/node.pem", keyFile: "/d/node-key.pem", notAfterMs: 200 };
  const configured = { certFile: "/etc/node.pem", keyFile: "/etc/node-key.pem", notAfterMs: 100 };
  test("a CA holder presents what it issues into the data dir, whatever is configured", () => {
    expect(choosePresented({ caHolder: true, renewed: { certFile: "/d/node.pem", keyFile: "/d/node-key.pem" }, configured })).toMatchObject({ certFile: "/d/node.pem", source: "issued" });
  });
  test("a member presents the renewed pair when it lives longer, the configured one when it does not", () => {
    expect(choosePresented({ caHolder: false, renewed, configured }).source).toBe("renewed");
    expect(choosePresented({ caHolder: false, renewed: { ...renewed, notAfterMs: 50 }, configured }).source).toBe("configured");
  });
  test("an unusable renewed pair is passed over; an unusable configured one gives way to a usable renewed one", () => {
    expect(choosePresented({ caHolder: false, renewed: { ...renewed, unusable: "not in force" }, configured }).source).toBe("configured");
    expect(choosePresented({ caHolder: false, renewed: { ...renewed, notAfterMs: 50 }, configured: { ...configured, unusable: "expired" } }).source).toBe("renewed");
  });
  test("with both unusable the configured pair is chosen, carrying its problem", () => {
    expect(choosePresented({ caHolder: false, renewed: { ...renewed, unusable: "a" }, configured: { ...configured, unusable: "b" } })).toMatchObject({ source: "configured", unusable: "b" });
  });
});

describe("on certificate files", () => {
  test("a member with only its configured pair presents it", async () => {
    const ca = await makeCaDir(dir.path, "ca-only");
    const m = await member({ caCert: ca.cert });
    await issue(ca, m.etc);
    expect(presentedCertificate(m.config, NOW)).toEqual({ certFile: m.config.tls!.cert!, keyFile: m.config.tls!.key!, source: "configured" });
  });

  test("a renewed certificate is presented once it is in force, not before", async () => {
    const ca = await makeCaDir(dir.path, "ca-future");
    const m = await member({ caCert: ca.cert });
    await issue(ca, m.etc, { days: 30 });
    const from = new Date(NOW.getTime() + 2 * DAY); // the CA holder's clock runs two days ahead
    await issue(ca, join(m.dataDir, "tls"), { at: from, days: 90 });
    const early = presentedCertificate(m.config, NOW)!;
    expect(early.source).toBe("configured");
    const later = presentedCertificate(m.config, new Date(from.getTime() + DAY))!;
    expect(later).toMatchObject({ certFile: m.renewed, source: "renewed" });
  });

  test("a renewed pair whose key does not belong to it, or for another name, is passed over", async () => {
    const ca = await makeCaDir(dir.path, "ca-bad");
    const m = await member({ caCert: ca.cert });
    await issue(ca, m.etc, { days: 30 });
    await issue(ca, join(m.dataDir, "tls"), { days: 90 });
    const other = join(dir.path, "other-key");
    await issue(ca, other, { days: 90 });
    const goodKey = readFileSync(dataDirLayout(m.dataDir).nodeKey);
    writeFileSync(dataDirLayout(m.dataDir).nodeKey, readFileSync(join(other, "node-key.pem")));
    expect(presentedCertificate(m.config, NOW)!.source).toBe("configured");
    writeFileSync(dataDirLayout(m.dataDir).nodeKey, goodKey);
    expect(presentedCertificate(m.config, NOW)!.source).toBe("renewed");
    await issue(ca, join(m.dataDir, "tls"), { name: "pi9", days: 90 });
    expect(presentedCertificate(m.config, NOW)!.source).toBe("configured");
  });

  test("an expired configured certificate gives way to a renewed one that ends sooner than it would have", async () => {
    const ca = await makeCaDir(dir.path, "ca-expired");
    const m = await member({ caCert: ca.cert });
    await issue(ca, m.etc, { at: new Date(NOW.getTime() - 100 * DAY), days: 90 });
    await issue(ca, join(m.dataDir, "tls"), { at: new Date(NOW.getTime() - 20 * DAY), days: 21 });
    expect(presentedCertificate(m.config, NOW)).toMatchObject({ source: "renewed" });
  });

  test("through a CA rotation: the new CA's certificate is presented once the member trusts it, and stays after the old CA is retired", async () => {
    const old = await makeCaDir(dir.path, "rot-old");
    const next = await makeCaDir(dir.path, "rot-new", { name: "unibus CA 2" });
    const m = await member({ caCert: old.cert });
    await issue(old, m.etc, { days: 90 });
    await issue(next, join(m.dataDir, "tls"), { days: 397 });
    // Before the member learned the new CA (tls.ca_cert alone): the new CA's certificate cannot be verified by its peers' trust.
    expect(presentedCertificate(m.config, NOW)!.source).toBe("configured");
    bundle(m.dataDir, old.cert); // the bundle the agent keeps, still the old CA
    expect(presentedCertificate(m.config, NOW)!.source).toBe("configured");
    bundle(m.dataDir, old.cert, next.cert); // trust phase: both CAs
    expect(presentedCertificate(m.config, NOW)).toMatchObject({ certFile: m.renewed, source: "renewed" });
    bundle(m.dataDir, next.cert); // finished: the old CA is retired
    await issue(next, join(m.dataDir, "tls"), { days: 30 }); // even a shorter-lived one, the old CA's is no longer trusted
    expect(presentedCertificate(m.config, NOW)).toMatchObject({ certFile: m.renewed, source: "renewed" });
  });

  test("the running node's certificate (nats-server's files, the admin listener) is the one presentedCertificate names", async () => {
    const ca = await makeCaDir(dir.path, "ca-agree");
    const m = await member({ caCert: ca.cert });
    await issue(ca, m.etc, { days: 30 });
    const from = new Date(NOW.getTime() + 2 * DAY);
    await issue(ca, join(m.dataDir, "tls"), { at: from, days: 90 });
    const log = new Logger({ level: "error", format: "text", sink: () => {} });
    for (const at of [NOW, new Date(from.getTime() + DAY)]) {
      const manager = new IdentityManager(m.config, log, async (check) => { await check(); });
      await manager.ensure(at);
      const chosen = presentedCertificate(m.config, at)!;
      expect(manager.files?.certFile).toBe(chosen.certFile);
      expect(manager.files?.keyFile).toBe(chosen.keyFile);
    }
  });

  test("a CA holder's running certificate is the data dir's, the one presentedCertificate names", async () => {
    const ca = await makeCaDir(dir.path, "ca-holder");
    const dataDir = join(dir.path, "holder-data");
    const config = { file: join(dir.path, "holder.toml"), node: { name: "pi1", dataDir }, tls: { caCert: ca.cert, caKey: ca.key } } as unknown as UnibusConfig;
    const manager = new IdentityManager(config, new Logger({ level: "error", format: "text", sink: () => {} }), async (check) => { await check(); });
    await manager.ensure();
    expect(presentedCertificate(config)).toEqual({ certFile: manager.files!.certFile, keyFile: manager.files!.keyFile, source: "issued" });
  });
});
