/**
 * With [tls], the running node serves its client port over TLS with a
 * certificate from the cluster CA: clients verify it against the CA, a node
 * certificate from another CA is refused by the client, the certificate is
 * renewed while running without dropping connections, and bad TLS inputs stop
 * the start with exit 2 before anything runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnectRaw } from "node:tls";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { expectedSans, issueNodeCertificate, loadCa, writeNodeFiles } from "../lib/pki/index.ts";
import { DAY, makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, pidsOf, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const CLOCK_SKEW_MS = 5 * 60 * 1000; // lib/pki backdates notBefore by this much
const dir = tempDir("unibus-tls-");
let ca: { dir: string; cert: string; key: string };
let otherCa: { dir: string; cert: string; key: string };

beforeAll(async () => {
  ca = await makeCaDir(dir.path, "ca");
  otherCa = await makeCaDir(dir.path, "other-ca", { name: "someone else's CA" });
});
afterAll(() => dir[Symbol.dispose]());

async function tlsNode(name: string, tlsToml: string, extra = "") {
  const folder = join(dir.path, name);
  require("node:fs").mkdirSync(folder, { recursive: true });
  const client = await freePort();
  const config = writeConfig(folder, nodeToml({ name, client, monitor: await freePort(), extra: `[tls]\n${tlsToml}\n${extra}` }));
  return { folder, client, config, dataDir: join(folder, "data") };
}

/** servedSerial is the serial number of the certificate a TLS port presents. */
function servedSerial(port: number, caFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnectRaw({ host: "127.0.0.1", port, ca: readFileSync(caFile), servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.end();
    });
    socket.once("error", reject);
  });
}

function tlsConnect(port: number, caFile: string): Promise<NatsConnection> {
  return connect({ servers: `tls://127.0.0.1:${port}`, tls: { caFile }, timeout: 5_000, reconnect: false });
}

describe("client port TLS from the cluster CA", () => {
  test("a client verifying against the CA connects and exchanges messages; plain and wrong-CA clients are refused", async () => {
    const n = await tlsNode("tls-1", `ca_cert = "${ca.cert}"\nca_key = "${ca.key}"`);
    await using node = new RunningUnibus(["--config", n.config]);
    await node.ready();
    expect(node.log).toContain("issued node certificate");
    expect(readFileSync(join(n.dataDir, "nats-server.conf"), "utf8")).toContain('"ca_file"');

    const nc = await tlsConnect(n.client, ca.cert);
    const sub = nc.subscribe("tls.test", { max: 1 });
    nc.publish("tls.test", "over tls");
    for await (const m of sub) expect(m.string()).toBe("over tls");
    await nc.close();

    // The server requires TLS: a plain client does not get in.
    await expect(connect({ servers: `127.0.0.1:${n.client}`, tls: null, timeout: 3_000, reconnect: false })).rejects.toThrow();
    // A client that trusts another CA refuses this node's certificate.
    await expect(tlsConnect(n.client, otherCa.cert)).rejects.toThrow();
  });

  test("a node serving a certificate from another CA is refused by a client that trusts the cluster CA", async () => {
    const n = await tlsNode("tls-other", `ca_cert = "${otherCa.cert}"\nca_key = "${otherCa.key}"`);
    await using node = new RunningUnibus(["--config", n.config]);
    await node.ready();
    await expect(tlsConnect(n.client, ca.cert)).rejects.toThrow();
    const nc = await tlsConnect(n.client, otherCa.cert); // its own CA works
    await nc.close();
  });
});

describe("certificate renewal while running", () => {
  test("the certificate is replaced when its renewal window opens; nats and the HTTPS admin page switch to it and a connected client keeps receiving", async () => {
    const adminPort = await freePort();
    const n = await tlsNode("tls-renew", `ca_cert = "${ca.cert}"\nca_key = "${ca.key}"\nlifetime_days = 3`, `[admin]\nlisten = "127.0.0.1:${adminPort}"\ntls = true\n`);
    // Plant a certificate whose renewal window (last third of its life) opens ~6 s after the node starts.
    const days = 3;
    const lifetime = days * DAY + CLOCK_SKEW_MS;
    const issuedAt = new Date(Date.now() + 6_000 - days * DAY + lifetime / 3);
    const planted = await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "tls-renew", sans: expectedSans("tls-renew", []), days, now: issuedAt });
    await writeNodeFiles(join(n.dataDir, "tls"), planted);
    const plantedPem = readFileSync(join(n.dataDir, "tls", "node.pem"), "utf8");

    await using node = new RunningUnibus(["--config", n.config]);
    await node.ready();
    expect(node.log).toContain("node certificate is valid"); // reused at start, not reissued
    expect(await servedSerial(adminPort, ca.cert)).toBe(new X509Certificate(plantedPem).serialNumber.toUpperCase());
    expect(node.log).not.toContain("issued node certificate");

    const listener = await tlsConnect(n.client, ca.cert);
    const events: string[] = [];
    void (async () => { for await (const s of listener.status()) events.push(s.type); })();
    const received: string[] = [];
    const sub = listener.subscribe("renew.>");
    void (async () => { for await (const m of sub) received.push(m.string()); })();
    await listener.flush();

    await node.waitForLog(/issued node certificate/, 30_000);
    await node.waitForLog(/nats-server reloaded the renewed certificate/, 15_000);
    const renewedPem = readFileSync(join(n.dataDir, "tls", "node.pem"), "utf8");
    expect(renewedPem).not.toBe(plantedPem);
    // The HTTPS admin page switches to the renewed certificate too.
    await node.waitForLog(/admin page serves the renewed certificate/, 10_000);
    expect(await servedSerial(adminPort, ca.cert)).toBe(new X509Certificate(renewedPem).serialNumber.toUpperCase());

    // A new client sees the new certificate; the old connection still delivers.
    const publisher = await tlsConnect(n.client, ca.cert);
    publisher.publish("renew.after", "after renewal");
    await publisher.flush();
    await publisher.close();
    const until = Date.now() + 5_000;
    while (!received.includes("after renewal") && Date.now() < until) await Bun.sleep(50);
    expect(received).toContain("after renewal");
    expect(listener.isClosed()).toBe(false);
    expect(events).not.toContain("disconnect");
    expect(events).not.toContain("reconnect");
    await listener.close();
  }, 90_000);
});

describe("bad TLS inputs stop the start with exit 2 and nothing running", () => {
  const cases: [string, () => Promise<{ toml: string; expect: RegExp }>][] = [
    ["garbled CA certificate", async () => {
      const f = join(dir.path, "garbled.pem");
      writeFileSync(f, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
      return { toml: `ca_cert = "${f}"\nca_key = "${ca.key}"`, expect: /garbled\.pem.*not a valid PEM certificate/ };
    }],
    ["node key that does not match the certificate", async () => {
      const a = await writeNodeFiles(join(dir.path, "mm-a"), await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "mm", sans: ["mm"] }));
      const b = await writeNodeFiles(join(dir.path, "mm-b"), await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "mm", sans: ["mm"] }));
      return { toml: `ca_cert = "${ca.cert}"\ncert = "${a.certFile}"\nkey = "${b.keyFile}"`, expect: /does not (match|belong)|mismatch/i };
    }],
    ["certificate from another CA", async () => {
      const o = await writeNodeFiles(join(dir.path, "from-other"), await issueNodeCertificate(await loadCa(otherCa.cert, otherCa.key), { name: "x", sans: ["x"] }));
      return { toml: `ca_cert = "${ca.cert}"\ncert = "${o.certFile}"\nkey = "${o.keyFile}"`, expect: /not (signed|issued) by/i };
    }],
    ["expired certificate", async () => {
      const e = await writeNodeFiles(join(dir.path, "expired"), await issueNodeCertificate(await loadCa(ca.cert, ca.key), { name: "x", sans: ["x"], days: 30, now: new Date(Date.now() - 60 * DAY) }));
      return { toml: `ca_cert = "${ca.cert}"\ncert = "${e.certFile}"\nkey = "${e.keyFile}"`, expect: /expired/i };
    }],
    ["CA key readable by everyone", async () => {
      const c = await makeCaDir(dir.path, "loose-ca");
      chmodSync(c.key, 0o644);
      return { toml: `ca_cert = "${c.cert}"\nca_key = "${c.key}"`, expect: /chmod 600/ };
    }],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      const { toml, expect: message } = await make();
      const n = await tlsNode(`bad-${name.replace(/\W+/g, "-")}`, toml);
      const res = await runUnibus(["--config", n.config]);
      expect(res.stderr).toMatch(message);
      expect(res.code).toBe(2);
      expect(res.stderr).not.toContain("PRIVATE KEY");
      expect(existsSync(join(n.dataDir, "nats-server.conf"))).toBe(false);
      expect(pidsOf(n.dataDir)).toEqual([]);
    });
  }
});
