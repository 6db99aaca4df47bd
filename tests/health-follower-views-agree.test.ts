/**
 * A healthy 3-node cluster with one R3 stream, seen from each node. nats-server
 * reports a RAFT group from the node it runs on: a follower lists the leader
 * among the replicas, leaves itself out, and does not know whether the other
 * follower is current. Each node's page and API must still show every replica
 * once, the true leader, and no healthy replica red; the leader's and the
 * followers' views agree. Status is HEALTHY (exit 0) everywhere, and /readyz
 * and unibus_ready do not flap while streams are created and deleted. Last,
 * one node restarts with its own CA: the others name it, with the fingerprint
 * and the fix, and it blames its own CA (the one real cluster where the CA
 * mismatch is seen over real TLS routes and probes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { makeLoopbackCluster, tlsConnect, type LoopbackCluster, type LoopbackNode } from "./cluster-fixtures.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, tempDir, waitFor } from "./_helpers.ts";
import { ARTIFACTS, haveChromium, launchChromium } from "./admin-fixtures.ts";
import { STATUS_CODES, api, gauge, metrics, readyz, status } from "./health-fixtures.ts";

const dir = tempDir("unibus-health-views-");
const chromium = haveChromium();
let cluster: LoopbackCluster;
let nc: NatsConnection;
let browser: Browser | undefined;
let leader = "";

type Replica = { name: string; leader: boolean; self: boolean; state: string };

beforeAll(async () => {
  cluster = await makeLoopbackCluster(dir.path, ["v-1", "v-2", "v-3"], { clusterName: "views" });
  for (const n of cluster.nodes) n.proc = new RunningUnibus(["--config", n.config], {}, n.dir);
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  await waitFor("every node ready", async () => (await Promise.all(cluster.nodes.map(readyz))).every((r) => r.status === 200), 90_000, 250);
  nc = await tlsConnect(cluster.nodes.map((n) => n.client), cluster.ca.cert);
  const jsm = await jetstreamManager(nc);
  await waitFor("the R3 stream ORDERS", async () => {
    try {
      await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], num_replicas: 3 });
      return true;
    } catch {
      return false;
    }
  }, 60_000, 250);
  await waitFor("all three replicas current, as the leader reports", async () => {
    const info = await jsm.streams.info("ORDERS");
    leader = info.cluster?.leader ?? "";
    return Boolean(leader) && (info.cluster?.replicas ?? []).length === 2 && info.cluster!.replicas!.every((r) => r.current);
  }, 60_000, 250);
  if (chromium) browser = await launchChromium();
}, 360_000); // above the sum of its waits: a slow start fails naming the wait, not as an "(unnamed)" hook timeout

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await Promise.all((cluster?.nodes ?? []).map((n) => n.proc?.stop()));
  dir[Symbol.dispose]();
});

async function replicasOn(i: number): Promise<Replica[]> {
  const js = await api(cluster.nodes[i]!, "/api/jetstream");
  return js.streams.find((s: { name: string }) => s.name === "ORDERS")?.peers ?? [];
}

describe("the views of a healthy cluster from its leader and its followers", () => {
  test("every node lists each replica once, the same leader, itself included, and none red", async () => {
    // A follower learns a new stream's replica set a moment after the leader: wait until every node lists three.
    let views = await Promise.all(cluster.nodes.map((_, i) => replicasOn(i)));
    for (let t = 0; t < 40 && views.some((v) => v.length < 3); t++) {
      await Bun.sleep(250);
      views = await Promise.all(cluster.nodes.map((_, i) => replicasOn(i)));
    }
    for (const [i, view] of views.entries()) {
      const self = cluster.nodes[i]!.name;
      expect(view.map((r) => r.name).sort()).toEqual(["v-1", "v-2", "v-3"]);
      expect(view.filter((r) => r.leader).map((r) => r.name)).toEqual([leader]);
      expect(view.filter((r) => r.self).map((r) => r.name)).toEqual([self]);
      for (const r of view) expect(["current", "unknown"]).toContain(r.state);
      // What this node can vouch for is current: itself and the leader.
      expect(view.find((r) => r.self)!.state).toBe("current");
      expect(view.find((r) => r.leader)!.state).toBe("current");
      // The leader knows every replica.
      if (self === leader) expect(view.every((r) => r.state === "current")).toBe(true);
    }
  }, 60_000);

  test("status is HEALTHY with exit 0 on every node, and no follower calls a healthy peer offline", async () => {
    for (const n of cluster.nodes) {
      const s = await status(n);
      expect(s.text.split("\n")[0]).toBe(`HEALTHY: node ${n.name} is healthy; no problems`);
      expect(s.code).toBe(STATUS_CODES.healthy);
      expect(s.json.metaOffline).toEqual([]);
      expect(s.text).toMatch(/CA {12}SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    }
    const fingerprints = await Promise.all(cluster.nodes.map(async (n) => (await status(n)).json.certificate.caFingerprint));
    expect(new Set(fingerprints).size).toBe(1);
  }, 60_000);

  test.if(chromium)("a follower's page shows the stream without a red replica, and the leader marked", async () => {
    const follower = cluster.nodes.find((n) => n.name !== leader)!;
    const { adminOf } = await import("./health-fixtures.ts");
    const { base, token } = adminOf(follower);
    const page = await browser!.newPage();
    await page.goto(`${base}/`);
    await page.fill("#token", token);
    await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
    expect(await page.getAttribute("#health", "data-verdict")).toBe("healthy");
    const spans = page.locator("#jetstream [data-replica]");
    expect(await spans.count()).toBe(3);
    expect(await page.locator("#jetstream [data-replica].bad").count()).toBe(0);
    expect(await page.textContent(`#jetstream [data-replica="${leader}"]`)).toContain(`${leader}*`);
    expect(await page.textContent(`#jetstream [data-replica="${follower.name}"]`)).toContain("(this node)");
    await page.screenshot({ path: join(ARTIFACTS, "health-follower-view.png"), fullPage: true });
    await page.close();
  }, 60_000);

  test("/readyz and unibus_ready stay up while streams are created and deleted", async () => {
    const jsm = await jetstreamManager(nc);
    let polling = true;
    const seen: number[] = [];
    const poller = (async () => {
      while (polling) {
        const answers = await Promise.all(cluster.nodes.map(readyz));
        seen.push(...answers.map((a) => a.status));
        for (const a of answers) if (a.status !== 200) console.log("not ready:", JSON.stringify(a.body));
        const m = await metrics(cluster.nodes[0]!);
        seen.push(gauge(m, "unibus_ready") === 1 ? 200 : 503);
        await Bun.sleep(200);
      }
    })();
    for (let i = 0; i < 60; i++) {
      await jsm.streams.add({ name: `CHURN_${i}`, subjects: [`churn.${i}.>`], num_replicas: 3 });
      await jsm.streams.delete(`CHURN_${i}`);
    }
    polling = false;
    await poller;
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((c) => c !== 200)).toEqual([]);
  }, 180_000);

  test("v-3 restarted with its own CA: v-1 names it with both fingerprints (exit 3), v-3 blames its own CA (exit 4)", async () => {
    const [good, , odd] = cluster.nodes as [LoopbackNode, LoopbackNode, LoopbackNode];
    const clusterFingerprint = (await status(good)).json.certificate.caFingerprint;
    expect(await odd.proc!.stop()).toBe(0);
    const own = await makeCaDir(odd.dir, "own-ca");
    writeFileSync(odd.config, readFileSync(odd.config, "utf8").replace(`ca_cert = "${cluster.ca.cert}"`, `ca_cert = "${own.cert}"`).replace(`ca_key = "${cluster.ca.key}"`, `ca_key = "${own.key}"`));
    for (const f of ["node.pem", "node-key.pem"]) rmSync(join(odd.dataDir, "tls", f), { force: true }); // the fix the refusal to start names
    odd.proc = new RunningUnibus(["--config", odd.config], {}, odd.dir);
    await odd.proc.ready(120_000);
    let s = await status(good);
    await waitFor("v-1 to name the CA mismatch", async () => {
      s = await status(good);
      return s.code === STATUS_CODES.degraded && s.json?.problems?.some((p: { kind: string }) => p.kind === "ca_mismatch");
    }, 90_000, 500);
    expect(s.text.split("\n")[0]).toContain("certificate authority mismatch");
    expect(s.text).toContain(`certificate authority mismatch: v-3 (127.0.0.1:${odd.route}) presents a certificate from a different CA than this node's (this node's CA: SHA-256 ${clusterFingerprint})`);
    expect(s.text).toContain(`fix: on v-3 (127.0.0.1:${odd.route}), set tls.ca_cert (and tls.ca_key) to the cluster's CA, delete its <data_dir>/tls/node.pem and node-key.pem`);
    expect(s.text).not.toContain("no route to");
    let o = await status(odd);
    await waitFor("v-3 to blame its own CA", async () => (o = await status(odd)).text.includes("this node's CA differs from its peers'"), 60_000, 500);
    expect(o.code).toBe(STATUS_CODES.broken);
    expect(o.json.certificate.caFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(o.json.certificate.caFingerprint).not.toBe(clusterFingerprint);
    expect(gauge(await metrics(good), "unibus_problems", { kind: "ca_mismatch" })).toBe(1);
  }, 240_000);
});
