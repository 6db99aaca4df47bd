/**
 * Three unibus nodes on 127.0.0.1 (distinct ports) form one bus over mutual
 * TLS routes with a route secret: core messages cross nodes, an R3 KV bucket
 * replicates, SIGKILL of the stream leader loses no acknowledged write, the
 * killed node rejoins and catches up, `unibus status` tells healthy from not,
 * and the route secret never reaches any log. Timings are printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { makeLoopbackCluster, metaLeader, monitorJson, ms, routeNames, startNode, tlsConnect, type LoopbackCluster } from "./cluster-fixtures.ts";
import { RunningUnibus, pidsOf, runUnibus, tempDir, waitFor } from "./_helpers.ts";

const dir = tempDir("unibus-cluster-loop-");
let cluster: LoopbackCluster;
const procs: RunningUnibus[] = [];
const conns: NatsConnection[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  cluster = await makeLoopbackCluster(dir.path, ["loop-a", "loop-b", "loop-c"], { debugFirst: true });
  const t0 = performance.now();
  for (const node of cluster.nodes) procs.push(startNode(node));
  await Promise.all(procs.map((p) => p.ready()));
  await waitFor("a JetStream meta leader that every node knows", async () => {
    const leaders = await Promise.all(cluster.nodes.map((n) => metaLeader(n.monitor)));
    return Boolean(leaders[0]) && leaders.every((l) => l === leaders[0]);
  }, 60_000, 50);
  timings.formation_ms = ms(t0);
  await waitFor("full mesh of routes", async () => {
    const all = await Promise.all(cluster.nodes.map((n) => routeNames(n.monitor)));
    return all.every((names) => names.length === 2);
  }, 30_000);
  timings.full_mesh_ms = ms(t0);
});

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await Promise.all(cluster?.nodes.map((n) => n.proc?.stop()) ?? []);
  console.log(`cluster timings (loopback): ${JSON.stringify(timings)}`);
  dir[Symbol.dispose]();
});

async function client(ports: number[]): Promise<NatsConnection> {
  const nc = await tlsConnect(ports, cluster.ca.cert);
  conns.push(nc);
  return nc;
}

describe("a loopback cluster of three nodes", () => {
  test("forms a full mesh of TLS routes with one JetStream meta leader", async () => {
    for (const node of cluster.nodes) {
      const names = await routeNames(node.monitor);
      expect(names).toEqual(cluster.nodes.filter((n) => n !== node).map((n) => n.name).sort());
    }
    const leaders = await Promise.all(cluster.nodes.map((n) => metaLeader(n.monitor)));
    expect(new Set(leaders).size).toBe(1);
    expect(cluster.nodes.map((n) => n.name)).toContain(leaders[0]!);
    const routez = await monitorJson<{ routes: { compression: string }[] }>(cluster.nodes[0]!.monitor, "routez");
    expect(routez!.routes.every((r) => r.compression === "off")).toBe(true);
  });

  test("renders route credentials only into the 0600 nats config, the same secret for incoming and gossiped routes", () => {
    const file = join(cluster.nodes[0]!.dataDir, "nats-server.conf");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const conf = JSON.parse(text.slice(text.indexOf("\n") + 1));
    const c = conf.cluster;
    // Not a hash: nats dials gossiped routes with this password (a hash there failed every implicit route).
    expect(c.authorization.password).toBe(cluster.secret);
    // The other members only: with its own address too, a fresh meta group expects every
    // configured route's server before its first election (section-cluster.ts, renderedRoutes).
    expect(c.routes).toHaveLength(2);
    for (const r of c.routes) expect(r).toContain(`:${encodeURIComponent(cluster.secret)}@`);
    expect(c.tls.verify).toBe(true);
    expect(c.tls.timeout).toBeGreaterThanOrEqual(5);
    expect(c.pool_size).toBe(-1);
    // Clients learn the other nodes: this node advertises the address its client port listens on.
    expect(c.no_advertise).toBe(false);
    expect(conf.client_advertise).toBe(`127.0.0.1:${cluster.nodes[0]!.client}`);
    expect(conf.server_name).toBe("loop-a");
  });

  test("a message published on node A reaches a subscriber on node C", async () => {
    const [a, , c] = cluster.nodes;
    const ncC = await client([c!.client]);
    const ncA = await client([a!.client]);
    const sub = ncC.subscribe("greet.c", { max: 1 });
    await ncC.flush();
    // Interest crosses the route asynchronously: publish until C sees it.
    const got = (async () => { for await (const m of sub) return m.string(); })();
    const timer = setInterval(() => ncA.publish("greet.c", "hello from A"), 100);
    try {
      expect(await got).toBe("hello from A");
    } finally {
      clearInterval(timer);
    }
  });

  test("an R3 KV bucket written on A is read on B", async () => {
    const [a, b] = cluster.nodes;
    const kvA = await new Kvm(await client([a!.client])).create("settings", { replicas: 3 });
    await kvA.put("colour", "teal");
    const kvB = await new Kvm(await client([b!.client])).open("settings");
    const entry = await kvB.get("colour");
    expect(entry?.string()).toBe("teal");
    const info = await jetstreamManager(await client([b!.client])).then((m) => m.streams.info("KV_settings"));
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas?.length).toBe(2);
  });

  test("unibus status exits 0 and names both peers while the cluster is whole", async () => {
    const res = await runUnibus(["status", "--config", cluster.nodes[1]!.config]);
    expect(res.stdout).toContain("healthy");
    expect(res.stdout).toContain("missing peers none");
    expect(res.stdout).toContain("loop-a");
    expect(res.stdout).toContain("loop-c");
    expect(res.code).toBe(0);
    const json = JSON.parse((await runUnibus(["status", "--json", "--config", cluster.nodes[1]!.config])).stdout);
    expect(json.routes.filter((r: { connected: boolean }) => r.connected)).toHaveLength(2);
    expect(json.metaLeader).toBeString();
    expect(json.missingPeers).toEqual([]);
  });

  test("SIGKILL of the stream leader loses no acknowledged write; the node rejoins and catches up", async () => {
    const ports = cluster.nodes.map((n) => n.client);
    const nc = await client(ports);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], num_replicas: 3 });
    const js = jetstream(nc, { timeout: 2_000 });
    const acked: { n: number; started: number; t: number }[] = [];
    let failures = 0;
    let running = true;
    const writer = (async () => {
      for (let n = 0; running; n++) {
        const started = performance.now();
        try {
          await js.publish("orders.new", String(n));
          acked.push({ n, started, t: performance.now() });
        } catch {
          failures++;
          await Bun.sleep(20); // no stream leader yet: do not spin
        }
      }
    })();
    await waitFor("100 acknowledged writes", () => acked.length >= 100, 30_000, 20);
    const leaderName = (await jsm.streams.info("ORDERS")).cluster!.leader!;
    const victim = cluster.nodes.find((n) => n.name === leaderName)!;
    const survivors = cluster.nodes.filter((n) => n !== victim);
    const killedLog = victim.proc!;
    // The node dies at once, as on a power cut: its nats-server first, then unibus
    // (which would otherwise take the child down at once through its parent-death signal).
    const natsPid = pidsOf(victim.dataDir)[0];
    expect(natsPid).toBeDefined();
    const tKill = performance.now();
    process.kill(natsPid!, "SIGKILL");
    victim.proc!.proc.kill("SIGKILL");
    const ackedBefore = acked.length;
    // Failover: from the kill to the first acknowledgement of a write sent after it.
    await waitFor("an acknowledged write sent after the kill", () => acked.some((a) => a.started > tKill), 30_000, 10);
    timings.failover_ms = ms(tKill, acked.find((a) => a.started > tKill)!.t);
    await waitFor("nats-server of the killed node to be gone", () => pidsOf(victim.dataDir).length === 0, 10_000);
    await waitFor("100 more acknowledged writes", () => acked.length >= ackedBefore + 100, 30_000, 20);

    // A survivor reports the missing peer and exits 3: degraded, the two survivors are still a majority.
    // The victim led the meta group too: until the survivors elect a new meta leader (seconds; longer on
    // a loaded machine than the stream's own election) status truthfully says broken for that alone.
    let down = await runUnibus(["status", "--json", "--config", survivors[0]!.config]);
    const electing = new Set(["meta_no_leader", "jetstream_not_current"]);
    const t = performance.now();
    while (down.code === 4 && performance.now() - t < 30_000) {
      const kinds = (JSON.parse(down.stdout).problems as { kind: string; severity: string }[]).filter((p) => p.severity === "broken").map((p) => p.kind);
      expect(kinds.filter((k) => !electing.has(k))).toEqual([]);
      await Bun.sleep(500);
      down = await runUnibus(["status", "--json", "--config", survivors[0]!.config]);
    }
    timings.meta_reelected_ms = Math.round(performance.now() - tKill);
    expect(down.code).toBe(3);
    expect(JSON.parse(down.stdout).missingPeers).toHaveLength(1);

    running = false;
    await writer;
    timings.acked_before_kill = ackedBefore;
    timings.acked_total = acked.length;
    timings.publish_failures = failures;

    // Every acknowledged write is readable from the survivors.
    const ncS = await client(survivors.map((n) => n.client));
    const consumer = await jetstream(ncS).consumers.get("ORDERS");
    const seen = new Set<string>();
    const messages = await consumer.consume();
    for await (const m of messages) {
      seen.add(m.string());
      if (m.info.pending === 0) break;
    }
    const missing = acked.filter((a) => !seen.has(String(a.n)));
    timings.acked_readable_after = acked.length - missing.length;
    expect(missing).toEqual([]);

    // The killed node comes back and catches up without help.
    expect(killedLog.log).not.toContain(cluster.secret);
    const tRestart = performance.now();
    const again = startNode(victim);
    procs.push(again);
    await again.ready();
    await waitFor("the restarted node to hold every message", async () => {
      const [mine, theirs] = await Promise.all([
        monitorJson<{ messages: number }>(victim.monitor, "jsz"),
        monitorJson<{ messages: number }>(survivors[0]!.monitor, "jsz"),
      ]);
      return Boolean(mine && theirs && mine.messages === theirs.messages && (await routeNames(victim.monitor)).length === 2);
    }, 60_000, 50);
    timings.rejoin_catch_up_ms = ms(tRestart);
    const info = await jsm.streams.info("ORDERS");
    expect(info.state.messages).toBeGreaterThanOrEqual(acked.length);
    expect(info.cluster?.replicas?.every((r) => r.current)).toBe(true);
    // The meta group marks the returning server online a moment after its stream caught up.
    let healthy = await runUnibus(["status", "--config", victim.config]);
    for (const until = performance.now() + 30_000; healthy.code !== 0 && performance.now() < until; ) {
      await Bun.sleep(250);
      healthy = await runUnibus(["status", "--config", victim.config]);
    }
    expect(healthy.stdout).toContain("healthy");
    expect(healthy.code).toBe(0);
  });

  test("the route secret never appears in any log output of the whole cluster", async () => {
    const logs = procs.map((p) => p.log).join("\n");
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).toContain("Route connection created");
    expect(logs).not.toContain(cluster.secret);
    expect(logs).not.toContain(encodeURIComponent(cluster.secret));
  });
});
