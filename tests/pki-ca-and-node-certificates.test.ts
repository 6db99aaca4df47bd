import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { expectedSans, issueNodeCertificate, loadCa, writeNodeFiles, type HostInfo } from "../lib/pki/index.ts";
import { makeCaDir, mode, openssl } from "./pki-fixtures.ts";
import { tempDir } from "./_helpers.ts";

const tmp = tempDir("unibus-pki-");
let ca: { dir: string; cert: string; key: string };
let node: { certFile: string; keyFile: string };

beforeAll(async () => {
  ca = await makeCaDir(tmp.path, "ca", { name: "test cluster CA" });
  const loaded = await loadCa(ca.cert, ca.key);
  const issued = await issueNodeCertificate(loaded, { name: "pi-kitchen", sans: expectedSans("pi-kitchen", ["pi-kitchen.lan", "10.0.0.11", "fd00::11"]) });
  node = await writeNodeFiles(join(tmp.path, "node"), issued);
});
afterAll(() => tmp[Symbol.dispose]());

describe("cluster CA", () => {
  test("CA certificate is a critical CA:TRUE with pathlen 0 that may sign certificates and CRLs", () => {
    const { code, out } = openssl("x509", "-in", ca.cert, "-text", "-noout");
    expect(code).toBe(0);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(out).toContain("X509v3 Subject Key Identifier");
    expect(out).toContain("X509v3 Authority Key Identifier");
    expect(out).toContain("Subject: CN = test cluster CA");
    expect(out).toContain("ASN1 OID: prime256v1");
    expect(out).toContain("ecdsa-with-SHA256");
  });

  test("CA lives ten years by default and has a positive 128-bit serial", () => {
    const out = openssl("x509", "-in", ca.cert, "-noout", "-enddate", "-serial").out;
    const end = new Date(/notAfter=(.*)/.exec(out)![1]!);
    const years = (end.getTime() - Date.now()) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    const serial = /serial=([0-9A-F]+)/.exec(out)![1]!;
    expect(serial).toHaveLength(32);
    expect(parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  test("CA files are written 0644 (cert) and 0600 (PKCS#8 key) with no temporary files left", async () => {
    expect(mode(ca.cert)).toBe(0o644);
    expect(mode(ca.key)).toBe(0o600);
    expect(await Bun.file(ca.key).text()).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(readdirSync(ca.dir).sort()).toEqual(["ca-key.pem", "ca.pem"]);
    expect(openssl("pkey", "-in", ca.key, "-noout", "-text").out).toContain("prime256v1");
  });

  test("CA self-verifies with openssl", () => {
    expect(openssl("verify", "-CAfile", ca.cert, ca.cert).out).toContain(": OK");
  });
});

describe("node certificate", () => {
  test("node certificate verifies with openssl against its CA", () => {
    const { code, out } = openssl("verify", "-CAfile", ca.cert, node.certFile);
    expect(out.trim()).toBe(`${node.certFile}: OK`);
    expect(code).toBe(0);
  });

  test("node certificate is for TLS servers and clients, digital signature only, not a CA", () => {
    const out = openssl("x509", "-in", node.certFile, "-text", "-noout").out;
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(out).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(out).toContain("Subject: CN = pi-kitchen");
    expect(out).toContain("Issuer: CN = test cluster CA");
    expect(out).toContain("X509v3 Subject Key Identifier");
  });

  test("node certificate covers node name, host name, localhost, loopback addresses and extra SANs", () => {
    const out = openssl("x509", "-in", node.certFile, "-noout", "-ext", "subjectAltName").out;
    for (const want of ["DNS:pi-kitchen", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "DNS:pi-kitchen.lan", "IP Address:10.0.0.11", "IP Address:FD00:0:0:0:0:0:0:11"]) {
      expect(out).toContain(want);
    }
    expect(out).toContain(`DNS:${hostname().toLowerCase()}`);
  });

  test("node certificate's authority key id is the CA's subject key id", () => {
    const caSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(openssl("x509", "-in", ca.cert, "-noout", "-text").out)![1];
    const nodeAki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(openssl("x509", "-in", node.certFile, "-noout", "-text").out)![1];
    expect(nodeAki).toBe(caSki!);
  });

  test("node certificate lives 397 days by default", () => {
    const out = openssl("x509", "-in", node.certFile, "-noout", "-enddate").out;
    const days = (new Date(/notAfter=(.*)/.exec(out)![1]!).getTime() - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(397);
  });

  test("node key is 0600 PKCS#8 P-256 and holds the certificate's public key", () => {
    expect(mode(node.keyFile)).toBe(0o600);
    expect(mode(node.certFile)).toBe(0o644);
    const certPub = openssl("x509", "-in", node.certFile, "-noout", "-pubkey").out;
    const keyPub = openssl("pkey", "-in", node.keyFile, "-pubout").out;
    expect(keyPub).toBe(certPub);
  });

  test("node certificate never outlives its CA", async () => {
    const short = await makeCaDir(tmp.path, "short-ca", { days: 30 });
    const loaded = await loadCa(short.cert, short.key);
    const issued = await issueNodeCertificate(loaded, { name: "n", sans: ["n"], days: 397 });
    expect(issued.cert.notAfter.getTime()).toBeLessThanOrEqual(loaded.cert.notAfter.getTime());
  });
});

describe("expected SANs", () => {
  const host: HostInfo = {
    hostname: "Kitchen-Pi",
    addresses: ["127.0.0.1", "::1", "192.168.1.20", "fe80::1c2d:3eff:fe4f:5a6b%eth0", "169.254.10.10", "FD00:0:0::20", "127.0.1.1"],
  };

  test("expected SANs list node name, host name, localhost, loopback, routable addresses, then extras", () => {
    expect(expectedSans("pi-kitchen", ["pi-kitchen.lan", "10.0.0.11"], host)).toEqual([
      "pi-kitchen",
      "kitchen-pi",
      "localhost",
      "127.0.0.1",
      "::1",
      "192.168.1.20",
      "fd00::20",
      "pi-kitchen.lan",
      "10.0.0.11",
    ]);
  });

  test("link-local and loopback interface addresses are left out", () => {
    const sans = expectedSans("n", [], host);
    expect(sans.some((s) => s.startsWith("fe80"))).toBe(false);
    expect(sans).not.toContain("169.254.10.10");
    expect(sans).not.toContain("127.0.1.1");
  });

  test("duplicates collapse and IPv6 extras are normalized", () => {
    expect(expectedSans("localhost", ["LOCALHOST", "[fd00:0::20]", "127.0.0.1"], { hostname: "localhost", addresses: [] })).toEqual(["localhost", "127.0.0.1", "::1", "fd00::20"]);
  });

  test("a node name that is not a DNS name is left out of the SANs", () => {
    expect(expectedSans("Pi Kitchen", [], { hostname: "", addresses: [] })).toEqual(["localhost", "127.0.0.1", "::1"]);
  });
});
