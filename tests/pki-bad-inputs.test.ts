import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../lib/errors.ts";
import { createCa, ensureNodeIdentity, expectedSans, issueNodeCertificate, loadCa, writeCaFiles, writeNodeFiles, type NodeIdentityOptions } from "../lib/pki/index.ts";
import { DAY, TESTDATA, makeCaDir, writeText } from "./pki-fixtures.ts";
import { tempDir } from "./_helpers.ts";

const tmp = tempDir("unibus-pki-");
let ca: { dir: string; cert: string; key: string };
let otherCa: { dir: string; cert: string; key: string };
let node: { certFile: string; keyFile: string };
let otherNode: { certFile: string; keyFile: string };

beforeAll(async () => {
  ca = await makeCaDir(tmp.path, "ca");
  otherCa = await makeCaDir(tmp.path, "other-ca", { name: "some other CA" });
  node = await writeNodeFiles(join(tmp.path, "node"), await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "n1", sans: expectedSans("n1", []) }));
  otherNode = await writeNodeFiles(join(tmp.path, "other-node"), await issueNodeCertificate(await loadCa(otherCa.cert, otherCa.key), { name: "n1", sans: ["n1"] }));
});
afterAll(() => tmp[Symbol.dispose]());

/** rejection runs fn and returns the ConfigError it must throw. */
async function rejection(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, but the call succeeded");
}

function provided(extra: Partial<NodeIdentityOptions> = {}): NodeIdentityOptions {
  return { tlsDir: join(tmp.path, "unused"), caCertFile: ca.cert, certFile: node.certFile, keyFile: node.keyFile, nodeName: "n1", extraSans: [], ...extra };
}

function managed(extra: Partial<NodeIdentityOptions> = {}): NodeIdentityOptions {
  return { tlsDir: join(tmp.path, "tls"), caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "n1", extraSans: [], ...extra };
}

describe("bad PKI inputs are refused with a ConfigError", () => {
  test("garbled CA certificate PEM names the file", async () => {
    const file = join(TESTDATA, "garbled-cert.pem");
    const err = await rejection(() => ensureNodeIdentity(managed({ caCertFile: file })));
    expect(err.message).toBe(`CA certificate ${file} is not a valid PEM certificate (garbled or truncated); replace it with the file the CA issued`);
  });

  test("garbled node key PEM names the file and echoes no key bytes", async () => {
    const file = join(tmp.path, "garbled-key.pem");
    copyFileSync(join(TESTDATA, "garbled-key.pem"), file);
    chmodSync(file, 0o600);
    const err = await rejection(() => ensureNodeIdentity(provided({ keyFile: file })));
    expect(err.message).toContain(`node key ${file} is not a valid PEM private key`);
    expect(err.cause).toBeUndefined();
    expect(err.message).not.toContain("MIGHAgEA");
  });

  test("a file without any PEM block says what was expected", async () => {
    const file = join(tmp.path, "empty.pem");
    writeText(file, "hello\n");
    const err = await rejection(() => ensureNodeIdentity(provided({ certFile: file })));
    expect(err.message).toContain(`node certificate ${file} contains no PEM certificate: expected a "-----BEGIN CERTIFICATE-----" block`);
  });

  test("swapped cert and key paths are pointed out", async () => {
    const err = await rejection(() => ensureNodeIdentity(provided({ certFile: node.keyFile, keyFile: node.certFile })));
    expect(err.message).toContain("are the cert and key paths swapped?");
  });

  test("node key that belongs to another certificate is a key/cert mismatch", async () => {
    const err = await rejection(() => ensureNodeIdentity(provided({ keyFile: otherNode.keyFile })));
    expect(err.message).toBe(`node key ${otherNode.keyFile} does not belong to node certificate ${node.certFile}; point [tls] cert and key at a pair issued together`);
  });

  test("CA key that belongs to another CA certificate is a key/cert mismatch", async () => {
    const err = await rejection(() => ensureNodeIdentity(managed({ caKeyFile: otherCa.key })));
    expect(err.message).toContain(`CA key ${otherCa.key} does not belong to CA certificate ${ca.cert}`);
  });

  test("provided certificate from another CA is refused", async () => {
    const err = await rejection(() => ensureNodeIdentity(provided({ certFile: otherNode.certFile, keyFile: otherNode.keyFile })));
    expect(err.message).toContain(`node certificate ${otherNode.certFile} was not issued by the CA in ${ca.cert} (its issuer is CN=some other CA)`);
    expect(err.message).toContain("unibus cert issue");
  });

  test("expired provided certificate is refused with the date and the fix", async () => {
    const err = await rejection(() => ensureNodeIdentity(provided({ now: new Date(Date.now() + 400 * DAY) })));
    // A box without the CA key: the clock first, then renewal through a CA holder.
    expect(err.message).toMatch(new RegExp(`^node certificate ${node.certFile} expired on \\d{4}-\\d\\d-\\d\\dT\\S+ by this box's clock, which says \\d{4}-`));
    expect(err.message).toContain("Check the clock first");
    expect(err.message).toContain("timedatectl");
    expect(err.message).toContain("renew through a CA holder (this box has no CA key)");
  });

  test("provided certificate that is not yet valid is refused", async () => {
    const dir = join(tmp.path, "future");
    const future = await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "n1", sans: ["n1"], now: new Date(Date.now() + 10 * DAY) });
    const files = await writeNodeFiles(dir, future);
    const err = await rejection(() => ensureNodeIdentity(provided({ ...files })));
    expect(err.message).toContain("is not valid until");
    expect(err.message).toContain("this box's clock says");
    expect(err.message).toContain("timedatectl");
  });

  test("CA key readable by group/others is refused with the chmod fix", async () => {
    const dir = join(tmp.path, "open-ca");
    const open = await makeCaDir(dir, "");
    chmodSync(open.key, 0o644);
    const err = await rejection(() => ensureNodeIdentity(managed({ caCertFile: open.cert, caKeyFile: open.key })));
    expect(err.message).toBe(`CA key ${open.key} is readable by group/others (mode 0644); run: chmod 600 ${open.key}`);
  });

  test("CA key with group write only is still refused", async () => {
    const dir = join(tmp.path, "group-ca");
    const open = await makeCaDir(dir, "");
    chmodSync(open.key, 0o620);
    const err = await rejection(() => loadCa(open.cert, open.key));
    expect(err.message).toBe(`CA key ${open.key} is accessible by group/others (mode 0620); run: chmod 600 ${open.key}`);
  });

  test("world-readable provided node key is refused", async () => {
    const file = join(tmp.path, "world-key.pem");
    writeText(file, readFileSync(node.keyFile, "utf8"));
    chmodSync(file, 0o644);
    const err = await rejection(() => ensureNodeIdentity(provided({ keyFile: file })));
    expect(err.message).toBe(`node key ${file} is readable by others (mode 0644); run: chmod 640 ${file}`);
  });

  test("a node certificate given as the CA certificate is refused", async () => {
    const err = await rejection(() => loadCa(node.certFile, undefined));
    expect(err.message).toContain(`CA certificate ${node.certFile} is not a CA certificate (basicConstraints CA:TRUE is missing; subject CN=n1)`);
  });

  test("an expired CA is refused", async () => {
    const old = await makeCaDir(tmp.path, "old-ca", { days: 1, now: new Date(Date.now() - 3 * DAY) });
    const err = await rejection(() => ensureNodeIdentity(managed({ caCertFile: old.cert, caKeyFile: old.key })));
    expect(err.message).toContain(`CA certificate ${old.cert} expired on`);
  });

  test("a missing CA certificate names the path", async () => {
    const file = join(tmp.path, "nope", "ca.pem");
    const err = await rejection(() => ensureNodeIdentity(managed({ caCertFile: file })));
    expect(err.message).toContain(`CA certificate ${file} does not exist`);
  });

  test("neither a CA key nor a cert/key pair is refused", async () => {
    const err = await rejection(() => ensureNodeIdentity(provided({ certFile: undefined, keyFile: undefined })));
    expect(err.message).toContain("[tls] needs either ca_key");
  });

  test("an invalid extra SAN is refused", async () => {
    const err = await rejection(() => ensureNodeIdentity(managed({ extraSans: ["not a host!"] })));
    expect(err.message).toBe(`invalid SAN "not a host!": expected a DNS name (e.g. node1.lan, *.lan) or an IP address (e.g. 10.0.0.5, fd00::5)`);
  });

  test("writing a CA over existing files without force is refused", async () => {
    const err = await rejection(async () => writeCaFiles(ca.dir, await createCa()));
    expect(err.message).toContain(`${join(ca.dir, "ca.pem")} already exists; refusing to overwrite a CA`);
    expect(err.message).toContain("--force");
  });

  test("nothing is written when the CA is refused", async () => {
    const dir = join(tmp.path, "tls-refused");
    await rejection(() => ensureNodeIdentity(managed({ tlsDir: dir, caKeyFile: otherCa.key })));
    expect(await Bun.file(join(dir, "node.pem")).exists()).toBe(false);
  });
});
