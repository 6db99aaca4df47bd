/**
 * A box needs BOTH the route secret AND a certificate from the cluster CA to
 * join: bare nats-servers that get one of them wrong (wrong secret; a
 * self-signed certificate; a certificate from another CA; no TLS at all)
 * dial the real nodes and are refused, visible as no route in the real nodes'
 * /routez. A control impostor with everything right does join, which shows
 * the check would see a successful join.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { issueNodeCertificate, loadCa, writeNodeFiles } from "../lib/pki/index.ts";
import { ROUTE_USER } from "../lib/config/section-cluster.ts";
import { makeLoopbackCluster, metaLeader, monitorJson, routeNames, startNode, type LoopbackCluster } from "./cluster-fixtures.ts";
import { makeCaDir, openssl } from "./pki-fixtures.ts";
import { ROOT, freePort, prerequisite, tempDir, waitFor } from "./_helpers.ts";

const NATS = join(ROOT, "vendor", "nats-server-2.15.1-1-amd64");
const ready = prerequisite(existsSync(NATS), `${NATS} (npm run fetch)`);
const dir = tempDir("unibus-impostor-");
let cluster: LoopbackCluster;
const impostors: Subprocess[] = [];

beforeAll(async () => {
  if (!ready) return;
  cluster = await makeLoopbackCluster(dir.path, ["real-1", "real-2", "real-3"], { clusterName: "guarded" });
  const procs = cluster.nodes.map((n) => startNode(n));
  await Promise.all(procs.map((p) => p.ready()));
  await waitFor("meta leader", async () => Boolean(await metaLeader(cluster.nodes[0]!.monitor)), 60_000);
});

afterAll(async () => {
  for (const p of impostors) p.kill("SIGKILL");
  await Promise.all(cluster?.nodes.map((n) => n.proc?.stop()) ?? []);
  dir[Symbol.dispose]();
});

type Tls = { cert: string; key: string; ca: string } | null;

/** startImpostor runs the vendor nats-server with a route config shaped like unibus's, differing where the case says. */
async function startImpostor(name: string, secret: string, tls: Tls) {
  const folder = join(dir.path, name);
  mkdirSync(folder, { recursive: true });
  const monitor = await freePort();
  const password = encodeURIComponent(secret);
  const conf = {
    server_name: name,
    listen: `127.0.0.1:${await freePort()}`,
    http: `127.0.0.1:${monitor}`,
    cluster: {
      name: cluster.name,
      listen: `127.0.0.1:${await freePort()}`,
      routes: cluster.nodes.map((n) => `nats-route://${ROUTE_USER}:${password}@127.0.0.1:${n.route}`),
      authorization: { user: ROUTE_USER, password: secret, timeout: 5 },
      ...(tls ? { tls: { cert_file: tls.cert, key_file: tls.key, ca_file: tls.ca, verify: true, timeout: 5 } } : {}),
      pool_size: -1,
      no_advertise: true,
      compression: "off",
    },
  };
  const file = join(folder, "impostor.conf");
  writeFileSync(file, JSON.stringify(conf), { mode: 0o600 });
  // The real nodes' logs from before the first route attempt: unibus logs a refusal once and folds its repeats.
  const logMarks = cluster.nodes.map((n) => n.proc!.log.length);
  const proc = Bun.spawn([NATS, "-c", file], { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
  impostors.push(proc);
  await waitFor(`${name} to serve monitoring`, async () => Boolean(await monitorJson(monitor, "varz")), 10_000);
  return { name, monitor, proc, logMarks };
}

async function issueFrom(caCert: string, caKey: string, folder: string) {
  const ca = await loadCa(caCert, caKey);
  const issued = await issueNodeCertificate(ca, { name: "impostor", sans: ["impostor", "localhost", "127.0.0.1"] });
  return writeNodeFiles(join(dir.path, folder), issued, { force: true });
}

/** realRoutes lists the route names every real node reports. */
async function realRoutes(): Promise<string[]> {
  return (await Promise.all(cluster.nodes.map((n) => routeNames(n.monitor)))).flat();
}

/** expectRefused watches for several route attempts (nats retries each second) and asserts no real node ever lists the impostor. */
async function expectRefused(impostor: { name: string; monitor: number; proc: Subprocess; logMarks: number[] }, refusal: RegExp, options: { sameCauseAsBefore?: boolean } = {}) {
  // unibus folds an identical nats error repeated within a minute into one later line with a count
  // (lib/natsd/nats-log.ts), so a refusal with the same cause as the previous test's is not logged again.
  const from = impostor.logMarks.map((mark) => (options.sameCauseAsBefore ? 0 : mark));
  await waitFor(`a real node to log refusing ${impostor.name}`, () => cluster.nodes.some((n, i) => refusal.test(n.proc!.log.slice(from[i]))), 20_000).catch((err) => {
    if (process.env.DEBUG_IMPOSTOR) console.log(cluster.nodes.map((n, i) => n.proc!.log.slice(from[i])).join("\n---\n"));
    throw err;
  });
  const line = cluster.nodes.flatMap((n, i) => n.proc!.log.slice(from[i]).split("\n")).find((l) => refusal.test(l));
  console.log(`${impostor.name} refused: ${line}`);
  for (let i = 0; i < 15; i++) {
    expect(await realRoutes()).not.toContain(impostor.name);
    await Bun.sleep(200);
  }
  const own = await monitorJson<{ num_routes: number }>(impostor.monitor, "routez");
  expect(own?.num_routes).toBe(0);
  // The real mesh is untouched: each node still has exactly its two peers.
  for (const n of cluster.nodes) expect((await routeNames(n.monitor)).filter((r) => r.startsWith("real-"))).toHaveLength(2);
  impostor.proc.kill("SIGKILL");
  await impostor.proc.exited;
}

describe.if(ready)("route admission needs the secret and a CA-signed certificate", () => {
  test("control: a nats-server with the right certificate and the right secret joins", async () => {
    const files = await issueFrom(cluster.ca.cert, cluster.ca.key, "good-cert");
    const imp = await startImpostor("welcome", cluster.secret, { cert: files.certFile, key: files.keyFile, ca: cluster.ca.cert });
    await waitFor("every real node to list the control server", async () => (await realRoutes()).filter((r) => r === "welcome").length === 3, 20_000);
    imp.proc.kill("SIGKILL");
    await imp.proc.exited;
    await waitFor("the control server's routes to go away", async () => !(await realRoutes()).includes("welcome"), 20_000);
  });

  test("a route with the right certificate but the wrong secret is refused", async () => {
    const files = await issueFrom(cluster.ca.cert, cluster.ca.key, "good-cert-2");
    const imp = await startImpostor("wrong-secret", `not-the-secret-${crypto.randomUUID()}`, { cert: files.certFile, key: files.keyFile, ca: cluster.ca.cert });
    await expectRefused(imp, /authentication error - User|Authorization Violation/);
  });

  test("a route with the right secret but a self-signed certificate is refused", async () => {
    const folder = join(dir.path, "self-signed");
    mkdirSync(folder, { recursive: true });
    const cert = join(folder, "cert.pem");
    const key = join(folder, "key.pem");
    const res = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
      "-subj", "/CN=impostor", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "extendedKeyUsage=serverAuth,clientAuth");
    expect(res.code).toBe(0);
    // It trusts the real CA, so the refusal can only come from the real node verifying the client certificate.
    const imp = await startImpostor("self-signed", cluster.secret, { cert, key, ca: cluster.ca.cert });
    await expectRefused(imp, /TLS route handshake error: .*certificate/);
  });

  test("a route with the right secret and a certificate from another CA is refused", async () => {
    const other = await makeCaDir(dir.path, "other-ca", { name: "another home lab CA" });
    const files = await issueFrom(other.cert, other.key, "other-cert");
    const imp = await startImpostor("other-ca", cluster.secret, { cert: files.certFile, key: files.keyFile, ca: cluster.ca.cert });
    await expectRefused(imp, /TLS route handshake error: .*certificate/, { sameCauseAsBefore: true });
  });

  test("a route with the right secret but no TLS at all is refused", async () => {
    const imp = await startImpostor("plain", cluster.secret, null);
    await expectRefused(imp, /TLS route handshake error: .*does not look like a TLS handshake/);
  });
});
