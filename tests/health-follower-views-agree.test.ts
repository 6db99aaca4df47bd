/**
 * A healthy 3-node cluster with one R3 stream, seen from each node. nats-server
 * reports a RAFT group from the node it runs on: a follower lists the leader
 * among the replicas, leaves itself out, and does not know whether the other
 * follower is current. Each node's page and API must still show every replica
 * once, the true leader, and no healthy replica red; the leader's and the
 * followers' views agree. Status is HEALTHY (exit 0) everywhere, and /readyz
 * and unibus_ready do not flap while streams are created and deleted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { makeLoopbackCluster, tlsConnect, type LoopbackCluster } from "./cluster-fixtures.ts";
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
}, 240_000);

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

  test("a stopped peer: the others say which one, that nothing listens there, and the fix; exit 3", async () => {
    const gone = cluster.nodes[2]!;
    expect(await gone.proc!.stop()).toBe(0);
    const s = await (async () => {
      let last = await status(cluster.nodes[0]!);
      await waitFor("v-1 to miss v-3", async () => (last = await status(cluster.nodes[0]!)).text.includes("no route to peer"), 60_000, 500);
      return last;
    })();
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.text).toContain(`no route to peer 127.0.0.1:${gone.route}: connection refused (nothing listens there: unibus is not running, or uses another route port)`);
    expect(s.text).toContain(`fix: make sure unibus runs there (systemctl status unibus), that its route port ${gone.route} is reachable from this node`);
    expect((await readyz(cluster.nodes[0]!)).status).toBe(200); // two of three are a majority
  }, 120_000);
});
