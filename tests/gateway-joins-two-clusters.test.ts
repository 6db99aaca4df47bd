/**
 * Two 2-node clusters on 127.0.0.1 ("site-a", "site-b", one CA) joined by
 * [gateway] into a supercluster: a message published on one site reaches a
 * subscriber on the other, request/reply crosses back, gateway links are
 * mutual TLS and authenticated with a gateway secret that is not the route
 * secret, a gateway with the wrong secret is refused, and neither secret
 * reaches a log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { makeLoopbackCluster, monitorJson, randomSecret, startNode, tlsConnect, type LoopbackCluster, type LoopbackNode } from "./cluster-fixtures.ts";
import { freePort, tempDir, waitFor } from "./_helpers.ts";

const dir = tempDir("unibus-gateway-");
const sites: LoopbackCluster[] = [];
const gatewayPorts = new Map<LoopbackNode, number>();
const conns: NatsConnection[] = [];
let gatewaySecret = "";

/** gatewayToml is the [gateway] table of one node: listen, secret, the other site's gateways. */
function gatewayToml(node: LoopbackNode, secretFile: string, remote: LoopbackCluster): string {
  const urls = remote.nodes.map((n) => `"127.0.0.1:${gatewayPorts.get(n)}"`).join(", ");
  return `[gateway]\nlisten = "127.0.0.1:${gatewayPorts.get(node)}"\nsecret_file = "${secretFile}"\n[[gateway.remotes]]\nname = "${remote.name}"\nurls = [${urls}]\n`;
}

beforeAll(async () => {
  const a = await makeLoopbackCluster(join(dir.path, "a"), ["gw-a1", "gw-a2"], { clusterName: "site-a" });
  const b = await makeLoopbackCluster(join(dir.path, "b"), ["gw-b1", "gw-b2"], { clusterName: "site-b" });
  sites.push(a, b);
  gatewaySecret = randomSecret();
  const secretFile = join(dir.path, "gateway.secret");
  writeFileSync(secretFile, `${gatewaySecret}\n`);
  chmodSync(secretFile, 0o600);
  for (const node of [...a.nodes, ...b.nodes]) gatewayPorts.set(node, await freePort());
  for (const [site, remote] of [[a, b], [b, a]] as const) {
    for (const node of site.nodes) {
      let text = readFileSync(node.config, "utf8");
      // One CA for the supercluster: site-b's nodes are issued by site-a's CA.
      text = text.replaceAll(site.ca.cert, a.ca.cert).replaceAll(site.ca.key, a.ca.key);
      // Core messaging only: JetStream's meta group would span both sites and is not what this test is about.
      text = text.replace("[jetstream]\n", "[jetstream]\nenabled = false\n");
      writeFileSync(node.config, text + gatewayToml(node, secretFile, remote));
    }
  }
  for (const node of [...a.nodes, ...b.nodes]) startNode(node);
  await Promise.all([...a.nodes, ...b.nodes].map((n) => n.proc!.ready()));
  await waitFor("every node's gateway connected to the other site", async () => {
    // Every server dials one server of each other cluster (nats picks which), so each node has an
    // outbound gateway, and a site's nodes together hold one inbound per node of the other site.
    const views = await Promise.all([...a.nodes, ...b.nodes].map((n) => monitorJson<{ outbound_gateways?: Record<string, unknown>; inbound_gateways?: Record<string, unknown[]> }>(n.monitor, "gatewayz")));
    const remoteOf = (i: number) => (i < a.nodes.length ? "site-b" : "site-a");
    /** inbound counts the gateway connections that `from`'s nodes hold open into the other site. */
    const inbound = (from: "site-a" | "site-b") => views.reduce((sum, g, i) => sum + (remoteOf(i) === from ? (g?.inbound_gateways?.[from]?.length ?? 0) : 0), 0);
    return views.every((g, i) => Boolean(g?.outbound_gateways?.[remoteOf(i)])) && inbound("site-b") >= b.nodes.length && inbound("site-a") >= a.nodes.length;
  }, 90_000, 200).catch(async (err) => {
    for (const n of [...a.nodes, ...b.nodes]) {
      const g = await monitorJson<any>(n.monitor, "gatewayz");
      console.log(n.name, g ? JSON.stringify({ out: Object.keys(g.outbound_gateways ?? {}), in: Object.keys(g.inbound_gateways ?? {}) }) : "no gatewayz");
      console.log(n.proc!.log.split("\n").filter((l) => /level=(warn|error)/.test(l)).slice(0, 8).join("\n"));
    }
    throw err;
  });
});

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await Promise.all(sites.flatMap((s) => s.nodes.map((n) => n.proc?.stop())));
  dir[Symbol.dispose]();
});

async function client(node: LoopbackNode): Promise<NatsConnection> {
  const nc = await tlsConnect([node.client], sites[0]!.ca.cert);
  conns.push(nc);
  return nc;
}

describe("[gateway] joins two clusters into a supercluster", () => {
  test("a message published on site-a reaches a subscriber on site-b, and a reply comes back", async () => {
    const [a, b] = sites as [LoopbackCluster, LoopbackCluster];
    const pub = await client(a.nodes[0]!);
    const sub = await client(b.nodes[1]!);
    const got: string[] = [];
    const s = sub.subscribe("sites.>", { callback: (_err, msg) => { got.push(`${msg.subject}=${msg.string()}`); } });
    sub.subscribe("ask.b", { callback: (_err, msg) => { msg.respond(`b answers ${msg.string()}`); } });
    await sub.flush();
    // Interest crosses the gateway asynchronously: publish until the first message arrives.
    await waitFor("a message across the gateway", async () => {
      pub.publish("sites.hello", "from-a");
      await pub.flush();
      await Bun.sleep(100);
      return got.length > 0;
    }, 30_000, 0);
    expect(got[0]).toBe("sites.hello=from-a");
    const reply = await pub.request("ask.b", "ping", { timeout: 10_000 });
    expect(reply.string()).toBe("b answers ping");
    s.unsubscribe();
  });

  test("the gateway is named after the cluster, mutual TLS, with its own secret as a bcrypt hash", async () => {
    const [a] = sites as [LoopbackCluster];
    const text = readFileSync(join(a.nodes[0]!.dataDir, "nats-server.conf"), "utf8");
    const gw = JSON.parse(text.slice(text.indexOf("\n") + 1)).gateway;
    expect(gw.name).toBe("site-a");
    expect(gw.tls.verify).toBe(true);
    expect(gw.authorization.password).toMatch(/^\$2[aby]\$/);
    expect(gw.gateways[0].urls[0]).toContain(`:${encodeURIComponent(gatewaySecret)}@`);
    expect(gatewaySecret).not.toBe(a.secret);
    const gatewayz = await monitorJson<{ name: string; outbound_gateways: Record<string, { connection: { tls_version?: string } }> }>(a.nodes[0]!.monitor, "gatewayz");
    expect(gatewayz!.name).toBe("site-a");
    expect(gatewayz!.outbound_gateways["site-b"]!.connection.tls_version).toBeTruthy();
  });

  test("a gateway with the route secret instead of the gateway secret is refused", async () => {
    const [a, b] = sites as [LoopbackCluster, LoopbackCluster];
    // A rogue site-c dials site-a's gateway with site-a's route secret: authentication must fail.
    const rogue = await makeLoopbackCluster(join(dir.path, "rogue"), ["gw-c1"], { clusterName: "site-c" });
    const node = rogue.nodes[0]!;
    const wrongFile = join(dir.path, "wrong-gateway.secret");
    writeFileSync(wrongFile, `${a.secret}\n`);
    chmodSync(wrongFile, 0o600);
    gatewayPorts.set(node, await freePort());
    let text = readFileSync(node.config, "utf8").replaceAll(rogue.ca.cert, a.ca.cert).replaceAll(rogue.ca.key, a.ca.key);
    text = text.replace("[jetstream]\n", "[jetstream]\nenabled = false\n");
    writeFileSync(node.config, text + gatewayToml(node, wrongFile, { ...a, nodes: [a.nodes[0]!] }));
    const proc = startNode(node);
    try {
      await proc.ready();
      await waitFor("site-a to refuse the rogue gateway", () => /authorization|Authorization/.test(a.nodes[0]!.proc!.log) || /authorization|Authorization/.test(proc.log), 30_000, 200);
      const view = await monitorJson<{ inbound_gateways?: Record<string, unknown> }>(a.nodes[0]!.monitor, "gatewayz");
      expect(view?.inbound_gateways?.["site-c"]).toBeUndefined();
    } finally {
      await proc.stop();
    }
    expect(b.nodes.length).toBe(2);
  });

  test("neither the gateway secret nor the route secrets reach any log", () => {
    for (const node of sites.flatMap((s) => s.nodes)) {
      const log = node.proc!.log;
      expect(log).not.toContain(gatewaySecret);
      expect(log).not.toContain(encodeURIComponent(gatewaySecret));
      for (const site of sites) expect(log).not.toContain(site.secret);
    }
  });
});
