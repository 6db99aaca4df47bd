/**
 * Leaf uplinks are visible: a hub with TLS from its own CA and three edges.
 * Edge "no-ca" has no ca_file (the uplink fails with "x509: certificate
 * signed by unknown authority" every second), edge "bad-secret" sends the
 * wrong secret, edge "good" is right. Status names each cause and fix with
 * exit 3 (degraded: local clients still work), the page shows the uplink
 * DOWN, /metrics has unibus_leaf_uplink_up{url}, and /readyz stays 200 on
 * purpose (see lib/diagnosis/readiness.ts). config check warns about the
 * missing ca_file before start.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { ARTIFACTS, haveChromium, launchChromium } from "./admin-fixtures.ts";
import { STATUS_CODES, gauge, metrics, pageHealth, readyz, status, type NodeFiles } from "./health-fixtures.ts";

const SECRET = "hub-leaf-secret-0123456789";
const dir = tempDir("unibus-health-leaf-");
const chromium = haveChromium();
const procs: RunningUnibus[] = [];
let browser: Browser | undefined;
let leafPort = 0;
const nodes: Record<string, NodeFiles> = {};

async function nodeConfig(name: string, extra: string): Promise<NodeFiles> {
  const config = writeConfig(dir.path, `[node]\nname = "${name}"\ndata_dir = "data-${name}"\n[client]\nlisten = "127.0.0.1:${await freePort()}"\n[monitor]\nlisten = "127.0.0.1:${await freePort()}"\n[admin]\nlisten = "127.0.0.1:${await freePort()}"\n${extra}`, `${name}.toml`);
  return { config, dataDir: join(dir.path, `data-${name}`) };
}

const url = () => `nats-leaf://127.0.0.1:${leafPort}`;

beforeAll(async () => {
  const ca = await makeCaDir(dir.path, "ca");
  writeFileSync(join(dir.path, "leaf.secret"), SECRET, { mode: 0o600 });
  writeFileSync(join(dir.path, "wrong.secret"), "not-the-hub-secret-at-all", { mode: 0o600 });
  leafPort = await freePort();
  nodes.hub = await nodeConfig("hub", `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\nclient_tls = false\n[leafnodes]\nlisten = "127.0.0.1:${leafPort}"\nsecret_file = "leaf.secret"\n`);
  nodes.good = await nodeConfig("good", `[[leafnodes.remotes]]\nurl = "${url()}"\nsecret_file = "leaf.secret"\nca_file = "${ca.cert}"\n`);
  nodes.noCa = await nodeConfig("no-ca", `[[leafnodes.remotes]]\nurl = "${url()}"\nsecret_file = "leaf.secret"\n`);
  nodes.badSecret = await nodeConfig("bad-secret", `[[leafnodes.remotes]]\nurl = "${url()}"\nsecret_file = "wrong.secret"\nca_file = "${ca.cert}"\n`);
  for (const n of Object.values(nodes)) procs.push(new RunningUnibus(["--config", n.config], {}, dir.path));
  await Promise.all(procs.map((p) => p.ready(120_000)));
  if (chromium) browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  dir[Symbol.dispose]();
});

describe("leaf uplinks in status, /readyz, /metrics and the page", () => {
  test("config check warns that an uplink without ca_file cannot verify a hub's own CA", async () => {
    const res = await runUnibus(["config", "check", "--config", nodes.noCa!.config]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`leafnodes.remotes[0].ca_file: the leaf uplink ${url()} has no ca_file`);
    expect(res.stderr).toContain("x509: certificate signed by unknown authority");
  });

  test("an edge without the hub's CA: status names the untrusted certificate and ca_file, exit 3", async () => {
    let s = await status(nodes.noCa!);
    await waitFor("no-ca to name the untrusted hub certificate", async () => {
      s = await status(nodes.noCa!);
      return s.text.includes("does not trust the hub's certificate");
    }, 60_000, 500);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text.split("\n")[0]).toStartWith(`DEGRADED: node no-ca, 1 degraded: the leaf uplink to ${url()} is down: this node does not trust the hub's certificate`);
    expect(s.text).toContain(`fix: copy the hub cluster's CA certificate (its ca.pem) to this node and set ca_file = "/path/to/hub-ca.pem" in the [[leafnodes.remotes]] entry for ${url()} in ${nodes.noCa!.config}`);
    expect(s.text).toMatch(/nats-server said: .*x509: certificate signed by unknown authority.* \(\d+ times?, last \d+ s ago\)/); // one retry a second: a quick read may see the first
    expect(s.text).toContain(`leaf uplink   ${url()} DOWN`);
    expect(s.json.leafs).toEqual([{ url: url(), up: false }]);
  }, 90_000);

  test("an edge with the wrong secret: status says the hub refuses it", async () => {
    let s = await status(nodes.badSecret!);
    await waitFor("bad-secret to name the refused secret", async () => {
      s = await status(nodes.badSecret!);
      return s.json?.problems?.some((p: { kind: string }) => p.kind === "leaf_auth_failed");
    }, 60_000, 500);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text).toContain(`the leaf uplink to ${url()} is down: the hub refuses this node's user "leaf" or secret`);
  }, 90_000);

  test("the hub names the edge whose secret it refuses, and the fix on that edge", async () => {
    let s = await status(nodes.hub!);
    await waitFor("the hub to name the refused edge", async () => {
      s = await status(nodes.hub!);
      return s.text.includes("tries to connect as a leaf node with a secret or user this hub does not accept");
    }, 60_000, 500);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text).toContain("an edge at 127.0.0.1 tries to connect");
    expect(s.text).toContain("fix: on that edge, set the [[leafnodes.remotes]] secret to this hub's [leafnodes] secret");
  }, 90_000);

  test("the good edge is healthy with its uplink connected; /metrics shows 1 and 0", async () => {
    await waitFor("good uplink up", async () => (await status(nodes.good!)).code === STATUS_CODES.healthy, 60_000, 500);
    const s = await status(nodes.good!);
    expect(s.text).toContain(`leaf uplink   ${url()} connected`);
    expect(gauge(await metrics(nodes.good!), "unibus_leaf_uplink_up", { url: url() })).toBe(1);
    const bad = await metrics(nodes.noCa!);
    expect(gauge(bad, "unibus_leaf_uplink_up", { url: url() })).toBe(0);
    expect(gauge(bad, "unibus_problems", { kind: "leaf_tls_untrusted" })).toBe(1);
  }, 90_000);

  test("/readyz of an edge with its uplink down stays 200: local clients are served", async () => {
    const r = await readyz(nodes.noCa!);
    expect(r.status).toBe(200);
    expect(r.body.ready).toBe(true);
  });

  test.if(chromium)("the edge's page shows the uplink DOWN and the problem at the top", async () => {
    const h = await pageHealth(browser!, nodes.noCa!, join(ARTIFACTS, "health-leaf-down.png"));
    expect(h.firstSection).toBe("health");
    expect(h.verdict).toBe("degraded");
    expect(h.problems[0]?.kind).toBe("leaf_tls_untrusted");
    expect(h.problems[0]?.text).toContain("Fix: copy the hub cluster's CA certificate");
    expect(await h.page.getAttribute(`#leafs tr[data-leaf="${url()}"]`, "data-state")).toBe("down");
    await h.page.close();
  }, 60_000);
});
