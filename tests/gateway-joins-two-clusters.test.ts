/**
 * Two 2-node clusters on 127.0.0.1 ("site-a", "site-b", one CA) joined by
 * [gateway] into a supercluster: a message published on one site reaches a
 * subscriber on the other, request/reply crosses back, gateway links are
 * mutual TLS and authenticated with a gateway secret that is not the route
 * secret, a third site known only to site-a is learned by gossip (nats dials
 * it with the gateway authorization's password, so that must be the secret
 * itself, not a hash), a gateway with the wrong secret is refused, and
 * neither secret reaches a log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { makeLoopbackCluster, monitorJson, randomSecret, startNode, tlsConnect, type LoopbackCluster, type LoopbackNode } from "./cluster-fixtures.ts";
import { freePort, runUnibus, tempDir, waitFor } from "./_helpers.ts";

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

  test("the gateway is named after the cluster, mutual TLS, with its own secret only in the 0600 nats config", async () => {
    const [a] = sites as [LoopbackCluster];
    const file = join(a.nodes[0]!.dataDir, "nats-server.conf");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const gw = JSON.parse(text.slice(text.indexOf("\n") + 1)).gateway;
    expect(gw.name).toBe("site-a");
    expect(gw.tls.verify).toBe(true);
    // The secret itself: nats dials gateways it learned by gossip with this password (see the third-site test).
    expect(gw.authorization.password).toBe(gatewaySecret);
    expect(gw.gateways[0].urls[0]).toContain(`:${encodeURIComponent(gatewaySecret)}@`);
    expect(gatewaySecret).not.toBe(a.secret);
    const gatewayz = await monitorJson<{ name: string; outbound_gateways: Record<string, { connection: { tls_version?: string } }> }>(a.nodes[0]!.monitor, "gatewayz");
    expect(gatewayz!.name).toBe("site-a");
    expect(gatewayz!.outbound_gateways["site-b"]!.connection.tls_version).toBeTruthy();
  });

  test("status --json names the other site's gateway as connected and since when", async () => {
    const [a] = sites as [LoopbackCluster];
    const res = await runUnibus(["status", "--json", "--config", a.nodes[0]!.config]);
    const gateways = JSON.parse(res.stdout).gateways as { remote: string; up: boolean; via: string; since?: string; servers: string[] }[];
    expect(gateways).toHaveLength(1);
    expect(gateways[0]).toMatchObject({ remote: "site-b", up: true, via: "gateway" });
    expect(Date.parse(gateways[0]!.since!)).toBeLessThanOrEqual(Date.now());
    const text = await runUnibus(["status", "--config", a.nodes[0]!.config]);
    expect(text.stdout).toMatch(/gateway\s+site-b connected since /);
  });

  test("a third site that lists only site-a is learned by gossip: site-b and it dial each other with the gateway secret", async () => {
    const [a, b] = sites as [LoopbackCluster, LoopbackCluster];
    // site-d names only site-a's gateways; site-b learns site-d from site-a's gossip and site-d
    // learns site-b the same way, so both links are implicit gateways nats dials on its own,
    // with the gateway authorization's password (a bcrypt hash there was refused).
    const third = await makeLoopbackCluster(join(dir.path, "d"), ["gw-d1"], { clusterName: "site-d" });
    const node = third.nodes[0]!;
    gatewayPorts.set(node, await freePort());
    let text = readFileSync(node.config, "utf8").replaceAll(third.ca.cert, a.ca.cert).replaceAll(third.ca.key, a.ca.key);
    text = text.replace("[jetstream]\n", "[jetstream]\nenabled = false\n");
    writeFileSync(node.config, text + gatewayToml(node, join(dir.path, "gateway.secret"), a));
    const proc = startNode(node);
    try {
      await proc.ready();
      const outbound = async (n: LoopbackNode) => Object.keys((await monitorJson<{ outbound_gateways?: Record<string, unknown> }>(n.monitor, "gatewayz"))?.outbound_gateways ?? {}).sort();
      await waitFor("site-b's nodes and site-d to dial each other by gossip", async () => {
        const views = await Promise.all([...b.nodes, node].map(outbound));
        return views.slice(0, -1).every((v) => v.includes("site-d")) && views.at(-1)!.includes("site-b");
      }, 60_000, 250).catch(async (err) => {
        for (const n of [...b.nodes, node]) console.log(n.name, JSON.stringify(await outbound(n)), n.proc!.log.split("\n").filter((l) => /level=(warn|error)/.test(l)).slice(-5).join("\n"));
        throw err;
      });
      expect(await outbound(node)).toEqual(["site-a", "site-b"]);
      // A message from site-d reaches a subscriber on site-b.
      const pub = await tlsConnect([node.client], a.ca.cert);
      conns.push(pub);
      const sub = await client(b.nodes[0]!);
      const got: string[] = [];
      sub.subscribe("gossip.>", { callback: (_err, msg) => { got.push(msg.string()); } });
      await sub.flush();
      await waitFor("a message from site-d on site-b", async () => {
        pub.publish("gossip.hello", "from-d");
        await pub.flush();
        await Bun.sleep(100);
        return got.length > 0;
      }, 30_000, 0);
      expect(got[0]).toBe("from-d");
      for (const n of [...b.nodes, node]) expect(n.proc!.log).not.toMatch(/authentication error - User "unibus-gateway"|Gateway Error 'Authorization Violation'/);
    } finally {
      await proc.stop();
    }
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
