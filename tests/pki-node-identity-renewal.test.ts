import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureNodeIdentity, expectedSans, issueNodeCertificate, loadCa, writeNodeFiles, type NodeIdentityOptions } from "../lib/pki/index.ts";
import { DAY, makeCaDir, mode, openssl } from "./pki-fixtures.ts";
import { tempDir } from "./_helpers.ts";

const tmp = tempDir("unibus-pki-");
let ca: { dir: string; cert: string; key: string };
let otherCa: { dir: string; cert: string; key: string };
// Half a second past the second: certificate times are whole seconds, so daysLeft never lands on a boundary.
const start = new Date(Math.floor(Date.now() / 1000) * 1000 + 500);

beforeAll(async () => {
  ca = await makeCaDir(tmp.path, "ca");
  otherCa = await makeCaDir(tmp.path, "other-ca", { name: "some other CA" });
});
afterAll(() => tmp[Symbol.dispose]());

const n = 1;
function options(extra: Partial<NodeIdentityOptions> = {}): NodeIdentityOptions {
  return { tlsDir: join(tmp.path, `tls-${n}`), caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "node-a", extraSans: ["node-a.lan"], now: start, ...extra };
}
function at(days: number): Date {
  return new Date(start.getTime() + days * DAY);
}

describe("node identity with the CA key", () => {
  test("a missing certificate is issued into the TLS folder", async () => {
    const id = await ensureNodeIdentity(options());
    expect(id.issued).toBe(true);
    expect(id.reason).toBe("missing");
    expect(id.certFile).toBe(join(tmp.path, `tls-${n}`, "node.pem"));
    expect(id.caFile).toBe(ca.cert);
    expect(id.subject).toBe("CN=node-a");
    expect(id.sans).toEqual(expectedSans("node-a", ["node-a.lan"]));
    expect(id.daysLeft).toBe(396);
    expect(mode(id.keyFile)).toBe(0o600);
    expect(mode(id.certFile)).toBe(0o644);
    expect(mode(join(tmp.path, `tls-${n}`))).toBe(0o700);
    expect(openssl("verify", "-CAfile", ca.cert, id.certFile).out).toContain(": OK");
  });

  test("renewal window opens when a third of the lifetime is left", async () => {
    const id = await ensureNodeIdentity(options());
    const lifetime = id.notAfter.getTime() - id.notBefore.getTime();
    expect(id.renewAt.getTime()).toBe(id.notAfter.getTime() - lifetime / 3);
  });

  test("a valid certificate outside the renewal window is reused", async () => {
    const before = readFileSync(options().tlsDir + "/node.pem", "utf8");
    const id = await ensureNodeIdentity(options({ now: at(200) }));
    expect(id.issued).toBe(false);
    expect(id.reason).toBeUndefined();
    expect(id.daysLeft).toBe(196);
    expect(readFileSync(id.certFile, "utf8")).toBe(before);
  });

  test("a certificate inside the renewal window is reissued with reason", async () => {
    const before = readFileSync(options().tlsDir + "/node.pem", "utf8");
    const id = await ensureNodeIdentity(options({ now: at(270) }));
    expect(id.issued).toBe(true);
    expect(id.reason).toBe("inside renewal window");
    expect(readFileSync(id.certFile, "utf8")).not.toBe(before);
    expect(id.notAfter.getTime()).toBeGreaterThan(at(270 + 396).getTime());
    expect(readdirSync(options().tlsDir).sort()).toEqual(["node-key.pem", "node.pem"]);
  });

  test("an expired certificate is reissued", async () => {
    const id = await ensureNodeIdentity(options({ now: at(270 + 400) }));
    expect(id.reason).toBe("expired");
    expect(id.daysLeft).toBe(396);
  });

  test("a renewal fraction of one half opens the window earlier", async () => {
    const o = options({ tlsDir: join(tmp.path, "tls-half"), renewWhenRemaining: 0.5 });
    await ensureNodeIdentity(o);
    expect((await ensureNodeIdentity({ ...o, now: at(150) })).issued).toBe(false);
    expect((await ensureNodeIdentity({ ...o, now: at(210) })).reason).toBe("inside renewal window");
  });

  test("a new extra SAN causes a reissue that covers it", async () => {
    const dir = join(tmp.path, "tls-sans");
    await ensureNodeIdentity(options({ tlsDir: dir }));
    const id = await ensureNodeIdentity(options({ tlsDir: dir, extraSans: ["node-a.lan", "10.0.0.5"] }));
    expect(id.issued).toBe(true);
    expect(id.reason).toBe("sans changed: +10.0.0.5");
    expect(openssl("x509", "-in", id.certFile, "-noout", "-ext", "subjectAltName").out).toContain("IP Address:10.0.0.5");
  });

  test("a removed extra SAN does not force a reissue", async () => {
    const id = await ensureNodeIdentity(options({ tlsDir: join(tmp.path, "tls-sans"), extraSans: [] }));
    expect(id.issued).toBe(false);
  });

  test("a certificate from another CA is not silently replaced: the node refuses and says the CA changed", async () => {
    const dir = join(tmp.path, "tls-foreign");
    const foreign = await loadCa(otherCa.cert, otherCa.key);
    await writeNodeFiles(dir, await issueNodeCertificate(foreign, { name: "node-a", sans: expectedSans("node-a", ["node-a.lan"]) }));
    const before = readFileSync(join(dir, "node.pem"), "utf8");
    const err = await ensureNodeIdentity(options({ tlsDir: dir })).then(() => undefined, (e: Error) => e);
    expect(err?.name).toBe("ConfigError");
    expect(err?.message).toContain("was issued by another CA");
    expect(err?.message).toContain("this node's CA changed");
    expect(err?.message).toContain(`delete ${join(dir, "node.pem")}`);
    expect(err?.message).toMatch(/SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(readFileSync(join(dir, "node.pem"), "utf8")).toBe(before); // nothing rewritten
    // The operator's way to move this node to the new CA: delete the pair, start again.
    rmSync(join(dir, "node.pem"));
    rmSync(join(dir, "node-key.pem"));
    const id = await ensureNodeIdentity(options({ tlsDir: dir }));
    expect(id.issued).toBe(true);
    expect(openssl("verify", "-CAfile", ca.cert, id.certFile).code).toBe(0);
    await writeNodeFiles(dir, await issueNodeCertificate(foreign, { name: "node-a", sans: expectedSans("node-a", ["node-a.lan"]) }), { force: true });
  });

  test("a key left over from another certificate is replaced together with the certificate", async () => {
    const dir = options().tlsDir;
    copyFileSync(join(tmp.path, "tls-foreign", "node-key.pem"), join(dir, "node-key.pem"));
    const id = await ensureNodeIdentity(options());
    expect(id.reason).toBe("key does not match certificate");
    expect((await ensureNodeIdentity(options())).issued).toBe(false);
  });

  test("a changed node name causes a reissue", async () => {
    const id = await ensureNodeIdentity(options({ tlsDir: join(tmp.path, "tls-sans"), nodeName: "node-b" }));
    expect(id.reason).toBe("node name changed: node-a -> node-b");
    expect(id.subject).toBe("CN=node-b");
  });
});

describe("node identity without the CA key", () => {
  let issuedDir: string;
  beforeAll(async () => {
    issuedDir = join(tmp.path, "provided");
    const loaded = await loadCa(ca.cert, ca.key);
    await writeNodeFiles(issuedDir, await issueNodeCertificate(loaded, { name: "node-c", sans: ["node-c", "localhost"] }));
  });
  const provided = (extra: Partial<NodeIdentityOptions> = {}) =>
    options({ tlsDir: join(tmp.path, "tls-unused"), caKeyFile: undefined, certFile: join(issuedDir, "node.pem"), keyFile: join(issuedDir, "node-key.pem"), nodeName: "node-c", extraSans: [], ...extra });

  test("a provided certificate from the configured CA is used as is and reports missing SANs", async () => {
    const id = await ensureNodeIdentity(provided());
    expect(id.issued).toBe(false);
    expect(id.certFile).toBe(join(issuedDir, "node.pem"));
    expect(id.missingSans).toContain("127.0.0.1");
    expect(existsSync(provided().tlsDir)).toBe(false);
  });

  test("a provided certificate inside the renewal window is still used: the node cannot renew it", async () => {
    const id = await ensureNodeIdentity(provided({ now: at(300) }));
    expect(id.issued).toBe(false);
    expect(id.renewAt.getTime()).toBeLessThan(at(300).getTime());
  });
});
