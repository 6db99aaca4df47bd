/**
 * Client discovery: a client given one node's URL learns the other nodes'
 * client URLs, built from their cluster addresses (never this host's other
 * interfaces, such as a Docker bridge or a VPN tunnel, although the client
 * port listens on all of them), and keeps the bus when that node dies. Both
 * the Go client from Debian (DiscoveredServers) and nats.js are checked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { tempDir, waitFor } from "./_helpers.ts";
import { makeLoopbackCluster, routeNames, startNode, type LoopbackCluster } from "./cluster-fixtures.ts";
import { buildNatsProbe, goClientAvailable, runNatsProbe } from "./go-natsprobe.ts";

const hasGo = goClientAvailable();
const probe = hasGo ? buildNatsProbe() : "";
const dir = tempDir("unibus-discovery-");
let cluster: LoopbackCluster;
const open: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await makeLoopbackCluster(dir.path, ["da", "db", "dc"], { clusterName: "discovery" });
  for (const n of cluster.nodes) {
    // Listen on every interface, as a LAN node does: nats would advertise all of this host's addresses.
    const text = readFileSync(n.config, "utf8").replace(`listen = "127.0.0.1:${n.client}"`, `listen = "0.0.0.0:${n.client}"\nallow_anonymous = true`);
    writeFileSync(n.config, text);
    startNode(n);
  }
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  await waitFor("a full mesh of routes", async () => (await Promise.all(cluster.nodes.map((n) => routeNames(n.monitor)))).every((r) => r.length === 2), 90_000, 250);
}, 240_000);
afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => {})));
  await Promise.all(cluster.nodes.map((n) => n.proc?.stop()));
  dir[Symbol.dispose]();
});

/** otherAddresses are this host's non-loopback IPv4 addresses (eth0, bridges, tunnels): none may be advertised. */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces()).flat().filter((a) => a && a.family === "IPv4" && !a.internal).map((a) => a!.address);
}

describe("clients discover the other nodes", () => {
  test("the Go client given node A's URL discovers B and C at their cluster addresses and nothing else", async () => {
    if (!hasGo) return;
    const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    let found: string[] = [];
    await waitFor("A to gossip B and C", async () => {
      const g = await runNatsProbe(probe, ["-url", `tls://127.0.0.1:${a.client}`, "-ca", cluster.ca.cert, "discover"]);
      found = g.stdout.trim().split("\n").filter(Boolean).sort();
      return found.length >= 2;
    }, 30_000, 500);
    expect(found.map((u) => u.replace(/^\w+:\/\//, "")).sort()).toEqual([`127.0.0.1:${b.client}`, `127.0.0.1:${c.client}`].sort());
    for (const addr of otherAddresses()) expect(found.join(" ")).not.toContain(addr);
  });

  test("a nats.js client given only node A's URL keeps publishing to C's subscriber after A dies", async () => {
    const [a, , c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const tls = { caFile: cluster.ca.cert };
    const pub = await connect({ servers: `tls://127.0.0.1:${a.client}`, tls, timeout: 5_000, reconnectTimeWait: 250, maxReconnectAttempts: -1 });
    const sub = await connect({ servers: `tls://127.0.0.1:${c.client}`, tls, timeout: 5_000 });
    open.push(pub, sub);
    await waitFor("A's INFO to list the other nodes", () => (pub.info?.connect_urls ?? []).length >= 3, 30_000, 200);
    const urls = pub.info!.connect_urls!;
    for (const addr of otherAddresses()) expect(urls.join(" ")).not.toContain(addr);

    const got: string[] = [];
    const s = sub.subscribe("discovery.>");
    void (async () => { for await (const m of s) got.push(m.string()); })();
    await sub.flush();
    await waitFor("a message via A", async () => {
      pub.publish("discovery.before", "before");
      return got.includes("before");
    }, 30_000, 200);

    await a.proc!.stop();
    await waitFor("the client to reconnect to a discovered node and deliver again", async () => {
      if (pub.isClosed()) throw new Error("the client gave up: it knew no other server");
      pub.publish("discovery.after", "after");
      return got.includes("after");
    }, 60_000, 250);
    expect(pub.getServer()).not.toBe(`127.0.0.1:${a.client}`);
  }, 120_000);
});
