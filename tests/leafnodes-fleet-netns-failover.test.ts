/**
 * A fleet in network namespaces: a 3-node hub cluster (from `unibus init
 * cluster`, `[leafnodes] enroll = true`) and 12 edges enrolled by the join
 * line (`unibus token create --edge` on the hub, `unibus join … --edge` on
 * each edge, as README's "Edge fleet" says), each edge listing every hub
 * node in its remote's urls and signing in with its own key. Every edge's status names the hub node it is really on. When a hub
 * node is SIGKILLed, and when another hub node's link is cut (no FIN, no
 * RST: only the keep-alive can tell), each edge is back on a live hub node
 * within the keep-alive and its status names that node. Edges spread by
 * their own order of the hub nodes (each on its home), a killed node's edges
 * spread over the others, and once it is back they move home within about a
 * minute, each reconnecting once, with nothing moving afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, prerequisite, runUnibus, tempDir, waitFor } from "./_helpers.ts";
import { Fleet, netnsAvailable, sh, type Box, type LeafzConnection } from "./fleet-netns-fixtures.ts";
import { uplinkOrder } from "../lib/fleet/hub-order.ts";
import { HOME_MOVE_WINDOW_MS, HOME_PROBE_INTERVAL_MS, HOME_SETTLE_MS } from "../lib/fleet/home-return.ts";

const EDGES = 12;
const KEEPALIVE_S = 15;
const dir = tempDir("unibus-fleet-");
const fleet = new Fleet(dir.path);
const ready = prerequisite(netnsAvailable(fleet.run), "ip netns (root and iproute2) and curl to build the hub and its edges");
const hubs: Box[] = [];
const edges: Box[] = [];
const timings: Record<string, number | string> = {};

/** hubOf reads which hub node an edge's uplink is on, from its own /leafz (cheap enough to poll 12 edges). */
async function hubOf(edge: Box): Promise<string | undefined> {
  const leafz = await fleet.curlJson<{ leafs: LeafzConnection[] | null }>(edge, "http://127.0.0.1:8222/leafz");
  return (leafz?.leafs ?? []).find((l) => l.is_spoke)?.name;
}

async function hubsOfAll(): Promise<(string | undefined)[]> {
  return Promise.all(edges.map(hubOf));
}

/** orderOf is the order an edge dials the hub nodes: the home and second choice the hub gave it at enrollment (`home`, `fallback` in its config) first (lib/fleet/hub-order.ts). */
function orderOf(edge: Box): string[] {
  const text = readFileSync(edge.config, "utf8");
  const given = (key: string) => {
    const m = new RegExp(`^${key} = "nats-leaf://([^:]+):(\\d+)"$`, "m").exec(text);
    return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
  };
  const order = uplinkOrder(edge.name, hubs.map((h) => ({ host: h.ip, port: 7422 })), given("home"), given("fallback"));
  return order.map((a) => hubs.find((h) => h.ip === a.host)!.name);
}

/** homeOf is the hub node an edge dials first. */
function homeOf(edge: Box): string {
  return orderOf(edge)[0]!;
}

/** spread counts edges per hub node, e.g. {"hub-1":4,"hub-2":5,"hub-3":3}. */
function spread(on: (string | undefined)[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const h of on) c[h ?? "none"] = (c[h ?? "none"] ?? 0) + 1;
  return Object.fromEntries(Object.entries(c).sort());
}

/** leafConnects counts each edge's leaf connections (open and closed) that began at or after `since` on the running hub nodes. */
async function leafConnects(since: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const h of hubs.filter((x) => x.proc)) {
    const z = await fleet.curlJson<{ connections: { kind?: string; name?: string; start: string }[] | null }>(h, "http://127.0.0.1:8222/connz?state=all&limit=10000");
    for (const c of z?.connections ?? []) {
      if ((c.kind ?? "").toLowerCase().startsWith("leaf") && Date.parse(c.start) >= since) out[c.name ?? "?"] = (out[c.name ?? "?"] ?? 0) + 1;
    }
  }
  return out;
}

let killed: { victim: Box; moved: Box[] } | undefined;

beforeAll(async () => {
  if (!ready) return;
  fleet.up();
  for (let i = 1; i <= 3; i++) hubs.push(fleet.addBox(`hub-${i}`, i));
  for (let i = 1; i <= EDGES; i++) edges.push(fleet.addBox(`edge-${String(i).padStart(2, "0")}`, 10 + i));
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "hub", ...hubs.flatMap((h) => ["--node", `${h.name}=${h.ip}`]), "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  for (const h of hubs) {
    cpSync(join(gen, "certs"), join(h.dir, "certs"), { recursive: true });
    cpSync(join(gen, "cluster.secret"), join(h.dir, "cluster.secret"));
    h.config = join(h.dir, `${h.name}.toml`);
    writeFileSync(h.config, `${await Bun.file(join(gen, `${h.name}.toml`)).text()}\n[leafnodes]\nlisten = "0.0.0.0:7422"\nenroll = true\n`);
  }
}, 120_000);

afterAll(async () => {
  console.log(`fleet timings (netns, ${EDGES} edges, keepalive ${KEEPALIVE_S} s): ${JSON.stringify(timings)}`);
  if (ready) await fleet.destroy();
  dir[Symbol.dispose]();
}, 120_000);

describe.if(ready)(`a 3-node hub and ${EDGES} edges in network namespaces`, () => {
  test("every edge connects, and its status names the hub node it is really on", async () => {
    const t0 = performance.now();
    for (const h of hubs) fleet.start(h);
    await waitFor("the hub cluster healthy", async () => (await Promise.all(hubs.map((h) => fleet.status(h)))).every((s) => s.code === 0), 120_000, 1_000);
    timings.hub_ready_ms = Math.round(performance.now() - t0);
    // Enroll the 12 by README's line: one token line from hub-1, `unibus join … --edge` on each edge box at once.
    const t2 = performance.now();
    const made = sh(["ip", "netns", "exec", hubs[0]!.ns, BIN_X64, "token", "create", "--edge", "--quiet", "--config", hubs[0]!.config]);
    const line = made.out.trim().split("\n").at(-1)!;
    expect(line).toMatch(/^unibus join \S+:6223 --token UB1-\S+ --edge$/);
    const joins = await Promise.all(edges.map(async (e) => {
      const p = Bun.spawn(["ip", "netns", "exec", e.ns, BIN_X64, ...line.split(" ").slice(1), "--name", e.name, "--out", e.dir], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { e, code, out: out + err };
    }));
    for (const j of joins) expect({ edge: j.e.name, code: j.code, out: j.code ? j.out : "" }).toEqual({ edge: j.e.name, code: 0, out: "" });
    for (const e of edges) {
      e.config = join(e.dir, "unibus.toml");
      expect(readFileSync(e.config, "utf8")).toContain(`keepalive = "${KEEPALIVE_S}s"`);
      expect(readFileSync(e.config, "utf8")).toMatch(/^home = "nats-leaf:\/\/[^"]+:7422"$/m); // given by the hub at enrollment
      expect(readFileSync(e.config, "utf8")).toMatch(/^fallback = "nats-leaf:\/\/[^"]+:7422"$/m);
      // an edge box of this test needs no admin page, and no JetStream of its own (12 of them share this machine)
      appendFileSync(e.config, "[admin]\nenabled = false\n[jetstream]\nenabled = false\n");
    }
    // every hub node renders the 12 edges' public keys from the CA holder's check-ins before any edge dials it
    const { fromSeed } = await import("@nats-io/nkeys");
    const publics = edges.map((e) => fromSeed(new TextEncoder().encode(readFileSync(join(e.dir, "edge-nkey.secret"), "utf8").trim())).getPublicKey());
    await waitFor("every hub node's rendered config to carry the 12 edge keys", () => hubs.every((h) => publics.every((k) => readFileSync(join(h.dir, "data", "nats-server.conf"), "utf8").includes(k))), 60_000, 500);
    timings.enroll_12_ms = Math.round(performance.now() - t2);
    const t1 = performance.now();
    for (const e of edges) fleet.start(e);
    await waitFor("every edge's uplink up", async () => (await hubsOfAll()).every(Boolean), 120_000, 500);
    timings.all_edges_connected_ms = Math.round(performance.now() - t1);
    const on = await hubsOfAll();
    // Each edge on its home, and the homes the hub gave at enrollment are even: 4 edges on each hub node.
    expect(on).toEqual(edges.map(homeOf));
    timings.spread_at_start = JSON.stringify(spread(on));
    expect(Object.values(spread(on))).toEqual([EDGES / 3, EDGES / 3, EDGES / 3]);
    for (const [i, e] of edges.entries()) {
      const s = await fleet.status(e);
      expect(s.json?.leafs).toHaveLength(1);
      expect(s.json.leafs[0].up).toBe(true);
      expect(s.json.leafs[0].hub).toBe(on[i]);
      expect(s.json.leafs[0].address).toBe(`${hubs.find((h) => h.name === on[i])!.ip}:7422`);
      expect(s.json.leafs[0].atHome).toBe(true);
      if (i === 0) {
        const text = await fleet.status(e, false);
        expect(text.text).toContain(`connected to hub node ${on[i]} at `);
        expect(text.text).toContain("(its home hub node)");
      }
    }
  }, 300_000);

  test("a SIGKILLed hub node: each of its edges is on another hub node within the keep-alive, named correctly", async () => {
    const on = await hubsOfAll();
    const victim = hubs.reduce((a, b) => (on.filter((h) => h === b.name).length > on.filter((h) => h === a.name).length ? b : a));
    const moved = edges.filter((_, i) => on[i] === victim.name);
    expect(moved.length).toBeGreaterThan(0);
    const t0 = performance.now();
    await fleet.stop(victim, "SIGKILL");
    await waitFor(`the ${moved.length} edges of ${victim.name} on another hub node`, async () => (await Promise.all(moved.map(hubOf))).every((h) => h && h !== victim.name), (KEEPALIVE_S + 30) * 1000, 250);
    timings.sigkill_failover_ms = Math.round(performance.now() - t0);
    expect(timings.sigkill_failover_ms).toBeLessThan(KEEPALIVE_S * 1000);
    for (const e of moved) {
      const s = await fleet.status(e);
      expect(s.json.leafs[0].up).toBe(true);
      expect(s.json.leafs[0].hub).not.toBe(victim.name);
      expect(hubs.map((h) => h.name)).toContain(s.json.leafs[0].hub);
      expect(s.json.leafs[0]).toMatchObject({ home: `${victim.ip}:7422`, atHome: false });
    }
    expect((await fleet.status(moved[0]!, false)).text).toContain(`away from its home hub node ${victim.ip}:7422`);
    // Each went to its own second choice, so they spread over the others (not all onto one).
    const second = (e: Box) => orderOf(e)[1]!;
    const landed = await Promise.all(moved.map(hubOf));
    expect(landed).toEqual(moved.map(second));
    // …which the hub gave them at enrollment within one of even (hashed second choices put all four on one in one fleet of eight).
    const split = Object.values(spread(landed));
    expect(split.length, JSON.stringify(spread(landed))).toBe(2);
    expect(Math.max(...split) - Math.min(...split), JSON.stringify(spread(landed))).toBeLessThanOrEqual(1);
    timings.spread_after_kill = JSON.stringify(spread(await hubsOfAll()));
    killed = { victim, moved };
  }, 300_000);

  test("the SIGKILLed hub node back: its edges move home within about a minute, one reconnect each, then nothing moves", async () => {
    const { victim, moved } = killed!;
    const t0 = Date.now();
    fleet.start(victim);
    await waitFor(`${victim.name} healthy again`, async () => (await fleet.status(victim)).code === 0, 120_000, 1_000);
    timings.victim_back_ms = Date.now() - t0;
    const bound = HOME_SETTLE_MS + HOME_MOVE_WINDOW_MS + 2 * HOME_PROBE_INTERVAL_MS + 30_000;
    await waitFor(`the ${moved.length} edges of ${victim.name} home again`, async () => (await Promise.all(moved.map(hubOf))).every((h) => h === victim.name), bound, 1_000);
    timings.back_home_ms = Date.now() - t0;
    const settled = await hubsOfAll();
    expect(settled).toEqual(edges.map(homeOf));
    timings.spread_after_return = JSON.stringify(spread(settled));
    // No storm and no oscillation: three rounds of the edges' 10 s look at home later nothing has moved
    // (an edge at home never moves), each moved edge connected once since the return (its move home),
    // the others not at all.
    await Bun.sleep(3 * HOME_PROBE_INTERVAL_MS);
    expect(await hubsOfAll()).toEqual(settled);
    const connects = await leafConnects(t0 - 1_000);
    timings.connects_since_return = JSON.stringify(connects);
    for (const e of edges.filter((x) => !moved.includes(x))) expect(connects[e.name] ?? 0).toBe(0);
    for (const e of moved) {
      expect(connects[e.name] ?? 0).toBeGreaterThanOrEqual(1);
      expect(connects[e.name] ?? 0).toBeLessThanOrEqual(2);
    }
    // What the edges' looks at home left in the returning node's log (a closed leaf connection each, nothing worse expected).
    const looks = victim.log.split("\n").filter((l) => /leaf/i.test(l) && /"level":"(warn|error)"|level=(warn|error)/i.test(l));
    timings.victim_leaf_warnings = looks.length;
    if (looks.length) console.log(`leaf warnings on ${victim.name} after its return:\n${looks.slice(0, 5).join("\n")}`);
    expect(victim.log).not.toContain("TLS leafnode handshake error"); // a look completes its handshake before it hangs up
  }, 400_000);

  test("a cut hub link (no FIN, no RST): each edge on it is on another hub node within the keep-alive, named correctly", async () => {
    const on = await hubsOfAll();
    const victim = hubs.reduce((a, b) => (on.filter((h) => h === b.name).length > on.filter((h) => h === a.name).length ? b : a));
    const moved = edges.filter((_, i) => on[i] === victim.name);
    expect(moved.length).toBeGreaterThan(0);
    const t0 = performance.now();
    fleet.link(victim, "down");
    try {
      await waitFor(`the ${moved.length} edges of ${victim.name} on another hub node`, async () => (await Promise.all(moved.map(hubOf))).every((h) => h && h !== victim.name), (KEEPALIVE_S + 45) * 1000, 250);
      timings.link_cut_failover_ms = Math.round(performance.now() - t0);
      // The keep-alive notices within 15 s; then one redial (it may try the cut node first: 1 s reconnect plus its dial timeout).
      expect(timings.link_cut_failover_ms).toBeLessThan((KEEPALIVE_S + 10) * 1000);
      for (const e of moved) {
        const s = await fleet.status(e);
        expect(s.json.leafs[0].up).toBe(true);
        expect(s.json.leafs[0].hub).not.toBe(victim.name);
      }
    } finally {
      fleet.link(victim, "up");
    }
  }, 300_000);
});
