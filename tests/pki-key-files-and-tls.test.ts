import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { ensureNodeIdentity, type NodeIdentity } from "../lib/pki/index.ts";
import { makeCaDir, mode } from "./pki-fixtures.ts";
import { tempDir } from "./_helpers.ts";

const tmp = tempDir("unibus-pki-");
let ca: { dir: string; cert: string; key: string };
let a: NodeIdentity;
let b: NodeIdentity;

beforeAll(async () => {
  ca = await makeCaDir(tmp.path, "ca");
  a = await ensureNodeIdentity({ tlsDir: join(tmp.path, "a"), caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "node-a", extraSans: [] });
  b = await ensureNodeIdentity({ tlsDir: join(tmp.path, "b"), caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "node-b", extraSans: [] });
});
afterAll(() => tmp[Symbol.dispose]());

/** handshake runs one mutual-TLS connection from client identity to server identity and returns the peer CNs. */
async function handshake(server: NodeIdentity, client: NodeIdentity, servername: string | undefined, host: string): Promise<{ serverSaw: string; clientSaw: string }> {
  const read = (f: string) => Bun.file(f).text();
  const [caPem, sCert, sKey, cCert, cKey] = await Promise.all([read(ca.cert), read(server.certFile), read(server.keyFile), read(client.certFile), read(client.keyFile)]);
  let serverSaw = "";
  const srv = createServer({ cert: sCert, key: sKey, ca: caPem, requestCert: true, rejectUnauthorized: true }, (sock: TLSSocket) => {
    serverSaw = String(sock.getPeerCertificate().subject?.CN ?? "");
    sock.end("hi");
  });
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const port = (srv.address() as { port: number }).port;
  try {
    const clientSaw = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host, port, ...(servername ? { servername } : {}), ca: caPem, cert: cCert, key: cKey, rejectUnauthorized: true }, () => {
        resolve(String(sock.getPeerCertificate().subject?.CN ?? ""));
        sock.end();
      });
      sock.on("error", reject);
    });
    await Bun.sleep(20);
    return { serverSaw, clientSaw };
  } finally {
    srv.close();
  }
}

describe("node certificates in real TLS", () => {
  test("two nodes complete a mutual TLS handshake via localhost, each verifying the other against the CA", async () => {
    const r = await handshake(a, b, "localhost", "127.0.0.1");
    expect(r.clientSaw).toBe("node-a");
    expect(r.serverSaw).toBe("node-b");
  });

  test("a client dialing 127.0.0.1 by IP accepts the node certificate", async () => {
    const r = await handshake(b, a, undefined, "127.0.0.1");
    expect(r.clientSaw).toBe("node-b");
  });

  test("a node whose certificate comes from another CA is refused in the handshake", async () => {
    const other = await makeCaDir(tmp.path, "other-ca");
    const stranger = await ensureNodeIdentity({ tlsDir: join(tmp.path, "stranger"), caCertFile: other.cert, caKeyFile: other.key, nodeName: "stranger", extraSans: [] });
    // As a server the stranger is refused by the client at once; as a client the server never accepts it.
    await expect(handshake(stranger, a, "localhost", "127.0.0.1")).rejects.toThrow(/certificate/i);
    const asClient = await handshake(a, stranger, "localhost", "127.0.0.1").catch(() => ({ serverSaw: "" }));
    expect(asClient.serverSaw).toBe("");
  });
});

describe("key files", () => {
  test("keys are written 0600 and certificates 0644 even when the umask allows more", async () => {
    const old = process.umask(0);
    try {
      const id = await ensureNodeIdentity({ tlsDir: join(tmp.path, "umask"), caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "u", extraSans: [] });
      expect(mode(id.keyFile)).toBe(0o600);
      expect(mode(id.certFile)).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  test("reissue replaces files atomically and leaves no temporary files", async () => {
    const dir = join(tmp.path, "atomic");
    const opts = { tlsDir: dir, caCertFile: ca.cert, caKeyFile: ca.key, nodeName: "x", extraSans: [] };
    await ensureNodeIdentity(opts);
    const again = await ensureNodeIdentity({ ...opts, extraSans: ["x.lan"] });
    expect(again.issued).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["node-key.pem", "node.pem"]);
  });
});
