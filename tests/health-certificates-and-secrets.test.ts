/**
 * Certificates and secrets, told plainly. An expired node certificate says
 * EXPIRED (not "-332 days left"). A node whose config now points at another
 * CA refuses to start instead of issuing itself a certificate every peer
 * rejects. A node started with its own CA beside two that share one: status
 * shows each node's CA fingerprint and names the odd node, on both sides,
 * with the fix; so does the page. A node with another route secret is named
 * as such, not as "no route".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { issueNodeCertificate, loadCa, writeNodeFiles, expectedSans } from "../lib/pki/index.ts";
import { makeLoopbackCluster, type LoopbackCluster } from "./cluster-fixtures.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { ARTIFACTS, haveChromium, launchChromium } from "./admin-fixtures.ts";
import { STATUS_CODES, gauge, metrics, pageHealth, status } from "./health-fixtures.ts";

const dir = tempDir("unibus-health-certs-");
const chromium = haveChromium();
let browser: Browser | undefined;

beforeAll(async () => {
  if (chromium) browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  dir[Symbol.dispose]();
});

describe("one node's certificate", () => {
  test("an expired node certificate is EXPIRED in status, with the fix; exit 4", async () => {
    const past = new Date(Date.now() - 400 * 86_400_000);
    const ca = await makeCaDir(dir.path, "ca-expired", { now: past, days: 3650 });
    const nodeDir = join(dir.path, "expired");
    mkdirSync(nodeDir, { recursive: true });
    const config = writeConfig(nodeDir, nodeToml({ name: "old-box", client: await freePort(), monitor: await freePort(), extra: `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n` }));
    await writeNodeFiles(join(nodeDir, "data", "tls"), await issueNodeCertificate(await loadCa(ca.cert, ca.key, past), { name: "old-box", sans: expectedSans("old-box", []), days: 68, now: past }));
    const s = await status({ config, dataDir: join(nodeDir, "data") });
    expect(s.code).toBe(STATUS_CODES.broken);
    expect(s.text).toMatch(/problem \d \[broken\] on old-box: the node certificate .*node\.pem EXPIRED on \d{4}-\d\d-\d\d \(33\d days ago\): peers and TLS clients refuse it/);
    expect(s.text).toContain("fix: restart unibus on this node: it issues a new certificate from the CA");
    expect(s.text).toMatch(/certificate {3}CN=old-box, until \d{4}-\d\d-\d\d, EXPIRED 33\d days ago/);
    expect(s.text).not.toMatch(/-\d+ days left/);
    expect(s.json.problems.map((p: { kind: string }) => p.kind)).toContain("certificate_expired");
  });

  test("a node whose tls.ca_cert now names another CA refuses to start and says the CA changed", async () => {
    const first = await makeCaDir(dir.path, "ca-first");
    const second = await makeCaDir(dir.path, "ca-second");
    const nodeDir = join(dir.path, "moved");
    mkdirSync(nodeDir, { recursive: true });
    const ports = { client: await freePort(), monitor: await freePort() };
    const config = writeConfig(nodeDir, nodeToml({ name: "moved", ...ports, extra: `[tls]\nca_cert = "${first.cert}"\nca_key = "${first.key}"\n` }));
    const node = new RunningUnibus(["--config", config], {}, nodeDir);
    await node.ready();
    await node.stop();
    const issued = readFileSync(join(nodeDir, "data", "tls", "node.pem"), "utf8");
    writeConfig(nodeDir, nodeToml({ name: "moved", ...ports, extra: `[tls]\nca_cert = "${second.cert}"\nca_key = "${second.key}"\n` }));
    const res = await runUnibus(["--config", config], { timeoutMs: 60_000 });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("was issued by another CA");
    expect(res.stderr).toContain("this node's CA changed");
    expect(res.stderr).toContain(`delete ${join(nodeDir, "data", "tls", "node.pem")}`);
    expect(readFileSync(join(nodeDir, "data", "tls", "node.pem"), "utf8")).toBe(issued);
  }, 120_000);
});

describe("a cluster where one node has its own CA", () => {
  let cluster: LoopbackCluster;

  beforeAll(async () => {
    cluster = await makeLoopbackCluster(join(dir.path, "ca-cluster"), ["c-1", "c-2", "c-3"], { clusterName: "lab" });
    const odd = cluster.nodes[2]!;
    const own = await makeCaDir(odd.dir, "own-ca");
    writeFileSync(odd.config, readFileSync(odd.config, "utf8").replace(`ca_cert = "${cluster.ca.cert}"`, `ca_cert = "${own.cert}"`).replace(`ca_key = "${cluster.ca.key}"`, `ca_key = "${own.key}"`));
    for (const n of cluster.nodes) n.proc = new RunningUnibus(["--config", n.config], {}, n.dir);
    await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  }, 180_000);

  afterAll(async () => {
    await Promise.all((cluster?.nodes ?? []).map((n) => n.proc?.stop()));
  });

  test("status shows each node's CA fingerprint; a good node names the odd one and the fix (exit 3)", async () => {
    const good = cluster.nodes[0]!;
    const odd = cluster.nodes[2]!;
    let s = await status(good);
    await waitFor("c-1 to name the CA mismatch", async () => {
      s = await status(good);
      // Once the two good nodes have elected a meta leader, the mismatch is the only problem.
      return s.code === STATUS_CODES.degraded && s.json?.problems?.some((p: { kind: string }) => p.kind === "ca_mismatch");
    }, 90_000, 500);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text.split("\n")[0]).toContain("certificate authority mismatch");
    expect(s.text).toContain(`certificate authority mismatch: c-3 (127.0.0.1:${odd.route}) presents a certificate from a different CA than this node's (this node's CA: SHA-256 ${s.json.certificate.caFingerprint})`);
    expect(s.text).toContain(`fix: on c-3 (127.0.0.1:${odd.route}), set tls.ca_cert (and tls.ca_key) to the cluster's CA, delete its <data_dir>/tls/node.pem and node-key.pem`);
    const mine = (await status(odd)).json.certificate.caFingerprint;
    expect(mine).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(mine).not.toBe(s.json.certificate.caFingerprint);
    expect(s.text).not.toContain("no route to");
  }, 120_000);

  test("the odd node says its own CA differs from its peers' (exit 4)", async () => {
    const odd = cluster.nodes[2]!;
    let s = await status(odd);
    await waitFor("c-3 to blame its own CA", async () => {
      s = await status(odd);
      return s.text.includes("this node's CA differs from its peers'");
    }, 60_000, 500);
    expect(s.code).toBe(STATUS_CODES.broken);
    expect(s.text).toContain(`fix: give this node the cluster's CA: copy ca.pem (and ca-key.pem) from a working node`);
  }, 90_000);

  test("/metrics and the page carry the same problem", async () => {
    const good = cluster.nodes[0]!;
    expect(gauge(await metrics(good), "unibus_problems", { kind: "ca_mismatch" })).toBe(1);
    if (!browser) return;
    const h = await pageHealth(browser, good, join(ARTIFACTS, "health-ca-mismatch.png"));
    expect(h.problems[0]?.kind).toBe("ca_mismatch");
    expect(h.problems[0]?.text).toContain("presents a certificate from a different CA");
    expect(await h.page.textContent("#ca-fingerprint")).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await h.page.close();
  }, 60_000);
});

describe("a cluster where one node has another route secret", () => {
  let cluster: LoopbackCluster;

  beforeAll(async () => {
    cluster = await makeLoopbackCluster(join(dir.path, "secret-cluster"), ["s-1", "s-2", "s-3"], { clusterName: "lab" });
    const odd = cluster.nodes[2]!;
    const other = join(odd.dir, "other.secret");
    writeFileSync(other, "a-different-route-secret-42\n", { mode: 0o600 });
    writeFileSync(odd.config, readFileSync(odd.config, "utf8").replace(`secret_file = "${cluster.secretFile}"`, `secret_file = "${other}"`));
    for (const n of cluster.nodes) n.proc = new RunningUnibus(["--config", n.config], {}, n.dir);
    await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  }, 180_000);

  afterAll(async () => {
    await Promise.all((cluster?.nodes ?? []).map((n) => n.proc?.stop()));
  });

  test("status names the route secret mismatch and where the secret lives", async () => {
    const good = cluster.nodes[0]!;
    let s = await status(good);
    await waitFor("s-1 to name the secret mismatch", async () => {
      s = await status(good);
      return s.code === STATUS_CODES.degraded && s.json?.problems?.some((p: { kind: string }) => p.kind === "route_auth_failed");
    }, 90_000, 500);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text).toContain("route secret mismatch:");
    expect(s.text).toContain(`copy the file named by cluster.secret_file in ${good.config}`);
    expect(s.text).not.toContain("no route to");
  }, 120_000);
});
