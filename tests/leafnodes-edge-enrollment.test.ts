/**
 * An edge enrolls like a member: a CA holder of a 3-node hub prints an edge
 * join line (`unibus token create --edge`); on the edge box, `unibus join …
 * --edge` pins the CA, gets the edge's own certificate and writes a config
 * whose uplink signs in with the edge's own nkey. Every hub node learns the
 * edge's public key (check-ins), so the edge may land on any of them; `unibus
 * edge remove` shuts one edge out alone while the other keeps its uplink.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, ROOT, prerequisite, runUnibus, tempDir, waitFor } from "./_helpers.ts";
import { Fleet, netnsAvailable, sh, type Box } from "./fleet-netns-fixtures.ts";

const dir = tempDir("unibus-enroll-");
const fleet = new Fleet(dir.path);
const ready = prerequisite(netnsAvailable(fleet.run), "ip netns (root and iproute2) and curl for the hub and its edges");
const hubs: Box[] = [];
const edges: Box[] = [];

/** fleet_ reads a hub node's fleet from its `unibus status --json`. */
async function fleet_(box: Box) {
  return (await fleet.status(box)).json?.fleet as { name: string; via: string; connected: boolean; hub?: string; since?: string; certDaysLeft?: number }[] | undefined;
}

const CLIENT = join(ROOT, "tests", "fleet-netns-client.ts");

/** client runs fleet-netns-client.ts inside a box's namespace and returns its JSON line. */
function client(box: Box, ...args: string[]) {
  const r = sh(["ip", "netns", "exec", box.ns, process.execPath, CLIENT, ...args], true);
  if (r.code !== 0) throw new Error(`client ${args.join(" ")} in ${box.name} failed: ${r.out}`);
  return JSON.parse(r.out.trim().split("\n").at(-1)!);
}

async function leafNames(): Promise<string[]> {
  const all = await Promise.all(hubs.map((h) => fleet.curlJson<{ leafs: { name: string }[] | null }>(h, "http://127.0.0.1:8222/leafz")));
  return all.flatMap((l) => (l?.leafs ?? []).map((x) => x.name));
}

/** inBox runs the unibus executable inside a box's namespace. */
function inBox(box: Box, args: string[]): { code: number; out: string } {
  return sh(["ip", "netns", "exec", box.ns, BIN_X64, ...args], true);
}

beforeAll(async () => {
  if (!ready) return;
  fleet.up();
  for (let i = 1; i <= 3; i++) hubs.push(fleet.addBox(`hub-${i}`, i));
  for (let i = 1; i <= 2; i++) edges.push(fleet.addBox(`edge-${i}`, 10 + i));
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "fleet", ...hubs.flatMap((h) => ["--node", `${h.name}=${h.ip}`]), "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  for (const h of hubs) {
    cpSync(join(gen, "certs"), join(h.dir, "certs"), { recursive: true });
    cpSync(join(gen, "cluster.secret"), join(h.dir, "cluster.secret"));
    h.config = join(h.dir, `${h.name}.toml`);
    writeFileSync(h.config, `${readFileSync(join(gen, `${h.name}.toml`), "utf8")}\n[leafnodes]\nlisten = "0.0.0.0:7422"\nenroll = true\n`);
    fleet.start(h);
  }
  await waitFor("the hub cluster healthy", async () => (await Promise.all(hubs.map((h) => fleet.status(h)))).every((s) => s.code === 0), 120_000, 1_000);
}, 240_000);

afterAll(async () => {
  if (ready) await fleet.destroy();
  dir[Symbol.dispose]();
}, 120_000);

describe.if(ready)("enrolling edges into a 3-node hub (network namespaces)", () => {
  test("the edge join line enrolls two edges; each gets its own key and a config listing every hub node", async () => {
    const made = inBox(hubs[0]!, ["token", "create", "--edge", "--quiet", "--config", hubs[0]!.config]);
    expect(made.code).toBe(0);
    const line = made.out.trim().split("\n").at(-1)!;
    expect(line).toMatch(new RegExp(`^unibus join ${hubs[0]!.ip.replace(/\./g, "\\.")}:6223 --token UB1-\\S+ --edge$`));
    const args = line.split(" ").slice(1);
    for (const e of edges) {
      const res = inBox(e, [...args, "--name", e.name, "--out", e.dir]);
      expect(res.out).toContain(`enrolled as edge "${e.name}" of hub cluster "fleet"`);
      expect(res.code).toBe(0);
      e.config = join(e.dir, "unibus.toml");
      const text = readFileSync(e.config, "utf8");
      expect(text).toContain(`urls = [${hubs.map((h) => `"nats-leaf://${h.ip}:7422"`).join(", ")}]`);
      expect(text).toContain('nkey_file = "edge-nkey.secret"');
      expect(statSync(join(e.dir, "edge-nkey.secret")).mode & 0o077).toBe(0);
      // edge-1 keeps sensors.> for the hub across outages (store and forward), and notices a cut
      // uplink within the shortest keep-alive the config allows (3 s) instead of the default's 15 s:
      // the outage below lasts only as long as that takes, so nats retries the hub's source sooner.
      const forward = e.name === "edge-1" ? text.replace(/^keepalive = .*$/m, 'keepalive = "3s"\nstore_and_forward = ["sensors.>"]') : text;
      writeFileSync(e.config, `${forward}[admin]\nenabled = false\n`);
    }
  }, 120_000);

  test("every hub node learns both edges' keys, both edges connect, and status names their hub node", async () => {
    const { fromSeed } = await import("@nats-io/nkeys");
    const seeds = edges.map((e) => readFileSync(join(e.dir, "edge-nkey.secret"), "utf8").trim());
    const publics = seeds.map((k) => fromSeed(new TextEncoder().encode(k)).getPublicKey());
    const rendered = (h: Box) => readFileSync(join(h.dir, "data", "nats-server.conf"), "utf8");
    await waitFor("every hub node's rendered config to carry both edge keys", () => hubs.every((h) => publics.every((p) => rendered(h).includes(p))), 60_000, 500);
    for (const h of hubs) for (const k of seeds) expect(rendered(h)).not.toContain(k);
    for (const e of edges) fleet.start(e);
    await waitFor("both edges' uplinks on the hub", async () => {
      const names = await leafNames();
      return edges.every((e) => names.includes(e.name));
    }, 90_000, 500);
    const s = await fleet.status(edges[0]!);
    expect(s.json?.leafs?.[0]?.up).toBe(true);
    expect(hubs.map((h) => h.name)).toContain(s.json.leafs[0].hub);
    const list = inBox(hubs[1]!, ["edge", "list", "--config", hubs[1]!.config]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/edge-1\s+enrolled/);
    expect(list.out).toMatch(/edge-2\s+enrolled/);
  }, 240_000);

  test("the hub's status lists its fleet: which hub node each edge is on, since when, certificate days and the edge's own verdict; a stopped edge is named missing", async () => {
    let rows: { name: string; via: string; connected: boolean; hub?: string; since?: string; certDaysLeft?: number }[] = [];
    await waitFor("hub-3's status to list both edges connected", async () => {
      rows = (await fleet_(hubs[2]!)) ?? [];
      return rows.filter((r) => r.connected).length === 2;
    }, 60_000, 1_000);
    const on = await Promise.all(edges.map(async (e) => (await fleet.curlJson<{ leafs: { name: string; is_spoke?: boolean }[] }>(e, "http://127.0.0.1:8222/leafz"))?.leafs.find((l) => l.is_spoke)?.name));
    for (const [i, e] of edges.entries()) {
      const row = rows.find((r) => r.name === e.name)!;
      expect(row).toMatchObject({ via: "enrolled", connected: true, hub: on[i] });
      expect(Date.parse(row.since!)).toBeLessThanOrEqual(Date.now());
      expect(row.certDaysLeft).toBeGreaterThan(300);
    }
    // Each edge's own verdict reaches the hub over its uplink (every 10 s): the hub says what the edge says of itself.
    let reported: { name: string; report?: { verdict: string; stale: boolean; unibus?: string } }[] = [];
    let own: string[] = [];
    await waitFor("hub-2's status to carry both edges' own verdicts, as each edge's status says it", async () => {
      own = await Promise.all(edges.map(async (e) => (await fleet.status(e)).json?.verdict as string));
      reported = ((await fleet.status(hubs[1]!)).json?.fleet ?? []) as typeof reported;
      return edges.every((e, i) => reported.find((r) => r.name === e.name)?.report?.verdict === own[i]);
    }, 60_000, 1_000);
    for (const e of edges) {
      const report = reported.find((r) => r.name === e.name)!.report!;
      expect(report.stale).toBe(false);
      expect(report.unibus).toMatch(/\d/);
      expect(["healthy", "degraded", "broken"]).toContain(report.verdict);
    }
    // /metrics: one state set per edge, 1 for the verdict it reported.
    const token = readFileSync(join(hubs[1]!.dir, "data", "admin.token"), "utf8").trim();
    const metrics = sh(["ip", "netns", "exec", hubs[1]!.ns, "curl", "-s", "-m", "5", "-H", `Authorization: Bearer ${token}`, "http://127.0.0.1:8480/metrics"], true).out;
    for (const e of edges) expect(metrics).toMatch(new RegExp(`unibus_edge_verdict\\{[^}]*edge="${e.name}"[^}]*\\} 1`));
    expect(metrics).toMatch(/unibus_edge_report_age_seconds\{edge="edge-1"\} \d+/);
    expect((await fleet.status(hubs[1]!, false)).text).toMatch(/edge verdicts \d of 2 connected edges report healthy/);
    // An anonymous local app on edge-1 speaks for edge-2 through edge-1's uplink (found by a new-user probe on the bed):
    // the hub takes an enrolled edge's report only signed by that edge's own key, so edge-2's row keeps edge-2's word.
    const forged = { edge: "edge-2", verdict: "broken", problems: 1, at: new Date().toISOString(), problem: { kind: "forged", cause: "FORGED by a local client on edge-1" } };
    expect(client(edges[0]!, "say", "nats://127.0.0.1:4222", "_UNIBUS.EDGE.VERDICT.edge-2", JSON.stringify(forged))).toEqual({ sent: 3 });
    await Bun.sleep(2_000);
    for (const h of hubs) {
      const s = await fleet.status(h);
      const row = ((s.json?.fleet ?? []) as { name: string; report?: { verdict: string; problem?: { cause: string } } }[]).find((r) => r.name === "edge-2");
      expect(row?.report?.problem?.cause ?? "", h.name).not.toContain("FORGED");
      expect(row?.report?.verdict, h.name).toBe(own[1]);
    }
    await fleet.stop(edges[0]!);
    let text = "";
    await waitFor("hub-1's status to name edge-1 missing", async () => {
      const s = await fleet.status(hubs[0]!, false);
      text = s.text;
      // edge-1 alone: under load a status taken at once may not yet see edge-2 on another hub node either.
      return s.code === 3 && /^\s*missing edges edge-1$/m.test(text);
    }, 60_000, 1_000);
    expect(text).toContain("edges         1 of 2 expected connected");
    expect(text).toMatch(/edge edge-1 \(enrolled\) is not connected to any hub node/);
    fleet.start(edges[0]!);
    await waitFor("edge-1 back on the hub", async () => (await leafNames()).includes("edge-1"), 90_000, 500);
  }, 240_000);

  test("store and forward: 1,000 messages published on an edge while its link is cut all reach the hub's stream after it returns, in order, once", async () => {
    const edge = edges[0]!;
    let leader: Box | undefined;
    await waitFor("the hub's fleet stream to source edge-1", async () => {
      for (const h of hubs) {
        const s = await fleet.status(h);
        if (s.json?.fleetStream?.sources?.some((x: { edge: string }) => x.edge === "edge-1")) leader = h;
      }
      return Boolean(leader);
    }, 90_000, 1_000);
    await waitFor("edge-1's status to show its forward stream", async () => /store\+forward UNIBUS_FORWARD holds \d+ messages of sensors\.>/.test((await fleet.status(edge, false)).text), 30_000, 1_000);
    fleet.link(edge, "down");
    try {
      // A real outage: the keep-alive has noticed it and status says what it means.
      let text = "";
      await waitFor("edge-1's status to report the uplink down", async () => {
        text = (await fleet.status(edge, false)).text;
        return text.includes("core NATS messages to and from the hub are dropped");
      }, 60_000, 1_000);
      expect(text).toContain("store and forward");
      const pub = client(edge, "publish", "nats://127.0.0.1:4222", "sensors.temp", "1000");
      expect(pub.acked).toBe(1000);
    } finally {
      fleet.link(edge, "up");
    }
    let got: { count: number; inOrder: boolean } = { count: 0, inOrder: false };
    await waitFor("the 1,000 messages in the hub's UNIBUS_FLEET", async () => {
      got = client(leader!, "read", "tls://127.0.0.1:4222", join(leader!.dir, "certs", "ca.pem"), "UNIBUS_FLEET");
      return got.count >= 1000;
    }, 120_000, 2_000);
    expect(got).toMatchObject({ count: 1000, inOrder: true, first: "0", last: "999" });
    // The hub node records the stream's state every 5 s: its status catches up within that.
    await waitFor("the hub's status to show the fleet stream caught up", async () =>
      /fleet stream  UNIBUS_FLEET 1000 messages \(store and forward\); backlog per edge: edge-1 0/.test((await fleet.status(leader!, false)).text), 30_000, 1_000);
  }, 300_000);

  test("unibus edge remove shuts one edge out of every hub node; the other keeps its uplink", async () => {
    const res = inBox(hubs[1]!, ["edge", "remove", "edge-2", "--config", hubs[1]!.config]);
    expect(res.out).toContain('removed edge "edge-2"');
    expect(res.code).toBe(0);
    // The running hub node did the remove (control channel), not the CLI beside it.
    await waitFor("hub-2 to log the remove it did", () => hubs[1]!.log.includes("removed an edge"), 10_000, 200);
    await waitFor("edge-2 gone from every hub node", async () => !(await leafNames()).includes("edge-2"), 60_000, 500);
    // It cannot come back: watch for a while.
    await Bun.sleep(5_000);
    const names = await leafNames();
    expect(names).not.toContain("edge-2");
    expect(names).toContain("edge-1");
    await waitFor("hub-3 to list edge-2 as removed", () => /edge-2\s+removed/.test(inBox(hubs[2]!, ["edge", "list", "--config", hubs[2]!.config]).out), 30_000, 1_000);
  }, 180_000);
});
