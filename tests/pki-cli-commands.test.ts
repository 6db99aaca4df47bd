import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TESTDATA, mode, openssl, unibus } from "./pki-fixtures.ts";
import { tempDir } from "./_helpers.ts";

const tmp = tempDir("unibus-pki-");
afterAll(() => tmp[Symbol.dispose]());
const caDir = join(tmp.path, "certs");
const nodeDir = join(tmp.path, "node1");

describe("unibus ca create", () => {
  test("ca create writes ca.pem 0644 and ca-key.pem 0600 and exits 0", () => {
    const r = unibus("ca", "create", "--out", caDir, "--name", "homelab CA", "--days", "1000");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`created CA "homelab CA"`);
    expect(r.stdout).not.toContain("PRIVATE KEY");
    expect(mode(join(caDir, "ca.pem"))).toBe(0o644);
    expect(mode(join(caDir, "ca-key.pem"))).toBe(0o600);
    expect(openssl("x509", "-in", join(caDir, "ca.pem"), "-noout", "-subject").out).toContain("CN = homelab CA");
  });

  test("ca create refuses to overwrite an existing CA without --force (exit 2)", () => {
    const before = readFileSync(join(caDir, "ca.pem"), "utf8");
    const r = unibus("ca", "create", "--out", caDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${join(caDir, "ca.pem")} already exists; refusing to overwrite a CA`);
    expect(readFileSync(join(caDir, "ca.pem"), "utf8")).toBe(before);
  });

  test("ca create --force replaces the CA", () => {
    const other = join(tmp.path, "forced");
    expect(unibus("ca", "create", "--out", other).code).toBe(0);
    const before = readFileSync(join(other, "ca.pem"), "utf8");
    const r = unibus("ca", "create", "--out", other, "--force");
    expect(r.code).toBe(0);
    expect(readFileSync(join(other, "ca.pem"), "utf8")).not.toBe(before);
    expect(mode(join(other, "ca-key.pem"))).toBe(0o600);
  });

  test("ca create without --out or with bad --days is a usage error (exit 2)", () => {
    expect(unibus("ca", "create").code).toBe(2);
    const r = unibus("ca", "create", "--out", join(tmp.path, "x"), "--days", "ten");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--days "ten" is invalid`);
    expect(unibus("ca", "create", "--bogus").code).toBe(2);
    expect(existsSync(join(tmp.path, "x"))).toBe(false);
  });
});

describe("unibus cert issue", () => {
  test("cert issue writes a node certificate that openssl verifies against the CA", () => {
    const r = unibus("cert", "issue", "--ca", caDir, "--name", "node1", "--san", "10.0.0.11", "--san", "node1.lan", "--out", nodeDir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`issued node certificate for "node1", signed by CN=homelab CA`);
    expect(r.stdout).not.toContain("PRIVATE KEY");
    expect(mode(join(nodeDir, "node.pem"))).toBe(0o644);
    expect(mode(join(nodeDir, "node-key.pem"))).toBe(0o600);
    expect(openssl("verify", "-CAfile", join(caDir, "ca.pem"), join(nodeDir, "node.pem")).code).toBe(0);
    const sans = openssl("x509", "-in", join(nodeDir, "node.pem"), "-noout", "-ext", "subjectAltName").out;
    for (const want of ["DNS:node1", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:10.0.0.11", "DNS:node1.lan"]) expect(sans).toContain(want);
  });

  test("cert issue --no-host-sans leaves out this host's name and addresses", () => {
    const dir = join(tmp.path, "remote");
    expect(unibus("cert", "issue", "--ca", caDir, "--name", "far", "--out", dir, "--no-host-sans", "--days", "30").code).toBe(0);
    const sans = openssl("x509", "-in", join(dir, "node.pem"), "-noout", "-ext", "subjectAltName").out.split("\n")[1]!.trim();
    expect(sans).toBe("DNS:far, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  });

  test("cert issue refuses to overwrite an existing node certificate without --force", () => {
    const r = unibus("cert", "issue", "--ca", caDir, "--name", "node1", "--out", nodeDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("already exists");
    expect(unibus("cert", "issue", "--ca", caDir, "--name", "node1", "--san", "10.0.0.11", "--san", "node1.lan", "--out", nodeDir, "--force").code).toBe(0);
  });

  test("cert issue with a group-readable CA key exits 2 with the chmod fix", () => {
    const dir = join(tmp.path, "loose-ca");
    expect(unibus("ca", "create", "--out", dir).code).toBe(0);
    chmodSync(join(dir, "ca-key.pem"), 0o640);
    const r = unibus("cert", "issue", "--ca", dir, "--name", "n", "--out", join(tmp.path, "loose-node"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run: chmod 600 ${join(dir, "ca-key.pem")}`);
    expect(existsSync(join(tmp.path, "loose-node"))).toBe(false);
  });

  test("cert issue without --name is a usage error", () => {
    const r = unibus("cert", "issue", "--ca", caDir, "--out", join(tmp.path, "n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--name is required");
  });
});

describe("unibus cert inspect", () => {
  test("cert inspect shows subject, issuer, validity, SANs, usages and a verified chain", () => {
    const r = unibus("cert", "inspect", join(nodeDir, "node.pem"), "--ca", join(caDir, "ca.pem"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^subject: +CN=node1$/m);
    expect(r.stdout).toMatch(/^issuer: +CN=homelab CA$/m);
    expect(r.stdout).toMatch(/^serial: +[0-9a-f]{32}$/m);
    expect(r.stdout).toMatch(/^not before: +\d{4}-/m);
    expect(r.stdout).toMatch(/^not after: +\d{4}-/m);
    expect(r.stdout).toMatch(/^days left: +39[67]$/m);
    expect(r.stdout).toMatch(/^key usage: +digitalSignature \(critical\)$/m);
    expect(r.stdout).toMatch(/^extended key usage: +serverAuth, clientAuth$/m);
    expect(r.stdout).toMatch(/^sans: +DNS:node1, .*IP:127\.0\.0\.1.*IP:10\.0\.0\.11, DNS:node1\.lan$/m);
    expect(r.stdout).toMatch(/^chain: +OK, verified against /m);
  });

  test("cert inspect uses the ca.pem next to the file when --ca is not given", () => {
    const r = unibus("cert", "inspect", join(caDir, "ca.pem"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^basic constraints: +CA:TRUE, pathlen:0$/m);
    expect(r.stdout).toMatch(/^key usage: +keyCertSign, cRLSign \(critical\)$/m);
    expect(r.stdout).toMatch(/^chain: +OK/m);
  });

  test("cert inspect against another CA reports the failed chain and exits 1", () => {
    const r = unibus("cert", "inspect", join(nodeDir, "node.pem"), "--ca", join(tmp.path, "forced", "ca.pem"));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^chain: +FAILED: not signed by CN=unibus cluster CA/m);
  });

  test("cert inspect without a CA says the chain was not checked", () => {
    const r = unibus("cert", "inspect", join(nodeDir, "node.pem"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^chain: +not checked/m);
  });

  test("cert inspect of garbled PEM exits 2 naming the file", () => {
    const file = join(TESTDATA, "garbled-cert.pem");
    const r = unibus("cert", "inspect", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: certificate ${file} is not a valid PEM certificate`);
  });
});
