/**
 * Pure rendering and model checks of the admin page with fixed nats
 * monitoring JSON: the cluster picture, readiness, rates, the certificate
 * warning, error states, and the log ring's redaction. No bus is involved;
 * the integration tests cover the real one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../lib/config/load.ts";
import { Logger } from "../lib/log.ts";
import { ClusterTracker } from "../lib/admin/cluster-view.ts";
import { natsDurationMs as parseGoDuration } from "../lib/natsd/durations.ts";
import { LogRing } from "../lib/admin/log-ring.ts";
import { buildOverview, type OverviewInputs } from "../lib/admin/model.ts";
import { certView } from "../lib/admin/panels/certificate.tsx";
import { assess } from "../lib/diagnosis/assess.ts";
import { clusterQuorum } from "../lib/diagnosis/quorum.ts";
import { leafUplinks } from "../lib/diagnosis/leaf-uplinks.ts";
import { renderMetrics } from "../lib/admin/metrics.ts";
import { Dashboard } from "../lib/admin/pages/dashboard.tsx";
import { OVERVIEW_PANELS, PANELS } from "../lib/admin/panels.ts";
import { RateSampler } from "../lib/admin/sampler.ts";
import type { Snapshot } from "../lib/natsd/snapshot.ts";
import type { NodeIdentity } from "../lib/pki/index.ts";
import { tempDir } from "./_helpers.ts";

const config = parseConfigText('[node]\nname = "n1"\ndata_dir = "/tmp/x"\n', "/tmp/x/node.toml", {});
// A node of a 3-node cluster; the CA files only need to exist (no certificate is read for the picture).
const labDir = tempDir("unibus-admin-model-");
afterAll(() => labDir[Symbol.dispose]());
for (const f of ["ca.pem", "ca-key.pem"]) writeFileSync(join(labDir.path, f), "");
const lab = parseConfigText(`[node]\nname = "n1"\ndata_dir = "${labDir.path}"\n[cluster]\nname = "lab"\npeers = ["127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"]\nadvertise = "127.0.0.1:6222"\n[tls]\nca_cert = "ca.pem"\nca_key = "ca-key.pem"\n`, join(labDir.path, "node.toml"), { UNIBUS_CLUSTER_SECRET: "route-secret-0123456789" });
const disk = { usedBytes: 1024, files: 1, partial: false };
const versions = { unibus: "0.1.0", nats: "2.15.1", target: "linux-x64" };

function varz(name: string) {
  return { server_id: `ID_${name}`, server_name: name, version: "2.15.1", go: "go1", start: "", now: "", uptime: "1m", mem: 1, cpu: 0, connections: 2, total_connections: 5, routes: 2, remotes: 2, in_msgs: 10, out_msgs: 20, in_bytes: 100, out_bytes: 200, slow_consumers: 0, subscriptions: 3 };
}

function route(name: string, rtt: string) {
  return { rid: 1, remote_id: `ID_${name}`, remote_name: name, ip: "127.0.0.1", port: 6222, rtt, in_msgs: 0, out_msgs: 0, in_bytes: 0, out_bytes: 0, subscriptions: 0 };
}

function snapshot(routes: ReturnType<typeof route>[], replicas: { name: string; current: boolean; offline?: boolean }[], leader = "n1"): Snapshot {
  return {
    at: Date.now(),
    healthz: { ok: true, detail: "ok" },
    metaHealthz: { ok: true, detail: "ok" },
    leafz: { ok: true, data: { server_id: "ID_n1", leafnodes: 0, leafs: [] } },
    varz: { ok: true, data: varz("n1") },
    connz: { ok: true, data: { num_connections: 1, total: 1, offset: 0, limit: 10, connections: [{ cid: 7, ip: "127.0.0.1", port: 5000, name: "sensor-hub", lang: "nats.js", version: "3", in_msgs: 1, out_msgs: 2, in_bytes: 3, out_bytes: 4, subscriptions: 1 }] } },
    routez: { ok: true, data: { server_id: "ID_n1", server_name: "n1", num_routes: routes.length, routes } },
    jsz: {
      ok: true,
      data: {
        server_id: "ID_n1", memory: 0, storage: 10, streams: 2, consumers: 0, messages: 3, bytes: 10,
        meta_cluster: { name: "lab", leader, cluster_size: 3, replicas },
        account_details: [{ name: "$G", id: "$G", stream_detail: [
          { name: "KV_settings", cluster: { leader: "n1", replicas: [{ name: "n2", current: true }, { name: "n3", current: false }] }, config: { num_replicas: 3 }, state: { messages: 1, bytes: 5, first_seq: 1, last_seq: 1, consumer_count: 0 } },
          { name: "ORDERS", config: { num_replicas: 1 }, state: { messages: 2, bytes: 5, first_seq: 1, last_seq: 2, consumer_count: 0 } },
        ] }],
      },
    },
  };
}

const rates = { intervalMs: 5000, points: [] };

/** overview builds the page's overview the way the admin source does: from the assessment `unibus status` makes. */
async function overview(i: Omit<OverviewInputs, "assessment">) {
  return buildOverview({ ...i, assessment: await assess(i.config, i.snapshot, { events: [] }) });
}

describe("the cluster picture", () => {
  test("a healthy 3-node mesh has three green routes, two of them measured with their RTT", async () => {
    const view = (await overview({ snapshot: snapshot([route("n2", "412µs"), route("n3", "1.5ms")], [{ name: "n2", current: true }, { name: "n3", current: true }]), config: lab, versions, startedAt: Date.now(), disk, rates })).cluster;
    expect(view.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3"]);
    expect(view.routes).toHaveLength(3);
    expect(view.routes.every((r) => r.up)).toBe(true);
    expect(view.routes.filter((r) => r.observed).map((r) => Math.round(r.rttMs! * 1000))).toEqual([412, 1500]);
    expect(view.routesUp).toBe(2);
    expect(view.expectedSize).toBe(3);
  });

  test("a peer that went away stays in the picture, red, under the name it had", async () => {
    const tracker = new ClusterTracker();
    await overview({ snapshot: snapshot([route("n2", "1ms"), route("n3", "1ms")], []), config: lab, versions, startedAt: Date.now(), disk, rates, tracker });
    const o = await overview({ snapshot: snapshot([route("n2", "1ms")], [{ name: "n3", current: false, offline: true }]), config: lab, versions, startedAt: Date.now(), disk, rates, tracker });
    const view = o.cluster;
    const n3 = view.nodes.find((n) => n.name === "n3");
    expect(n3?.up).toBe(false);
    const down = view.routes.filter((r) => !r.up).map((r) => `${r.from}-${r.to}`);
    expect(down.sort()).toEqual(["n1-n3", "n2-n3"]);
    expect(o.readiness.ready).toBe(true); // 1 of 2 peers is still a majority of 3
    expect(o.health.problems.map((p) => `${p.kind} ${p.severity}`)).toContain("peer_unreachable degraded"); // and status says the same
  });

  test("a node that reaches no peer of three is not ready, and says why", async () => {
    const tracker = new ClusterTracker();
    tracker.observe([route("n2", "1ms"), route("n3", "1ms")]);
    const o = await overview({ snapshot: snapshot([], [], ""), config: lab, versions, startedAt: Date.now(), disk, rates, tracker });
    expect(o.readiness.ready).toBe(false);
    expect(o.health.verdict).toBe("broken");
    expect(o.cluster.routesUp).toBe(0);
    const reasons = o.readiness.checks.filter((c) => !c.ok).map((c) => c.detail).join("; ");
    expect(reasons).toContain("routes to 0 of 2 peers up");
    expect(reasons).toContain("no meta leader");
  });

  test("status, /readyz, the page and /metrics read one quorum: the same peers reached, the same majority", async () => {
    for (const routes of [[route("n2", "1ms"), route("n3", "1ms")], [route("n2", "1ms")], []]) {
      const snap = snapshot(routes, [], routes.length ? "n1" : "");
      const assessment = await assess(lab, snap, { events: [] });
      const q = clusterQuorum(assessment.facts);
      const o = buildOverview({ snapshot: snap, config: lab, versions, startedAt: Date.now(), disk, rates, assessment });
      expect(q).toMatchObject({ size: 3, reached: routes.length, need: 1 });
      const routesCheck = o.readiness.checks.find((c) => c.name === "routes")!;
      expect(routesCheck.ok).toBe(q.majority);
      const peerSeverities = o.health.problems.filter((p) => p.kind === "peer_unreachable").map((p) => p.severity);
      expect(peerSeverities.every((s) => s === (q.majority ? "degraded" : "broken"))).toBe(true);
      expect([o.cluster.routesUp, o.cluster.expectedSize]).toEqual([q.reached, q.size]);
      const text = renderMetrics(snap, o, versions);
      expect(text).toContain(`unibus_cluster_routes_up ${q.reached}\n`);
      expect(text).toContain(`unibus_cluster_expected_size ${q.size}\n`);
      expect(text).toContain(`unibus_ready ${o.readiness.ready ? 1 : 0}\n`);
      const html = String(await (<Dashboard nonce="n" overview={o} configToml="" logs={[]} />).toString());
      expect(html).toContain(`${q.reached} of 2 peers reachable`);
    }
  });

  test("status, the diagnosis, the page and /metrics read one list of leaf uplinks", async () => {
    const edge = parseConfigText('[node]\nname = "e1"\ndata_dir = "/tmp/x"\n[[leafnodes.remotes]]\nurl = "nats-leaf://127.0.0.1:7422"\n[[leafnodes.remotes]]\nurl = "nats-leaf://127.0.0.2:7422"\n', "/tmp/x/node.toml", {});
    const snap = snapshot([], []);
    snap.leafz = { ok: true, data: { server_id: "ID_e1", leafnodes: 1, leafs: [{ ip: "127.0.0.1", port: 7422, is_spoke: true, rtt: "2ms" }] } };
    const assessment = await assess(edge, snap, { events: [] });
    const uplinks = leafUplinks(assessment.facts);
    expect(uplinks).toEqual([{ url: "nats-leaf://127.0.0.1:7422", up: true, address: "127.0.0.1:7422", rtt: "2ms" }, { url: "nats-leaf://127.0.0.2:7422", up: false }]);
    const o = buildOverview({ snapshot: snap, config: edge, versions, startedAt: Date.now(), disk, rates, assessment });
    expect(o.leafs).toEqual(uplinks);
    expect(assessment.diagnosis.problems.filter((p) => p.kind === "leaf_down")).toHaveLength(1);
    const text = renderMetrics(snap, o, versions);
    expect(text).toContain('unibus_leaf_uplink_up{url="nats-leaf://127.0.0.1:7422"} 1');
    expect(text).toContain('unibus_leaf_uplink_up{url="nats-leaf://127.0.0.2:7422"} 0');
  });

  test("a hub's fleet: /metrics has a gauge per edge and the page a row per edge, a missing one red", async () => {
    const hubConfig = parseConfigText('[node]\nname = "hub-1"\ndata_dir = "/tmp/x"\n[leafnodes]\nlisten = "127.0.0.1:7422"\n[[leafnodes.users]]\nuser = "garage"\npassword_hash = "$2b$10$2QEc7xybpjxKyWu3xA6lc.4HoqHZMwzB1spMK5Z5QqrPQME.goG3K"\n', "/tmp/x/node.toml", {});
    const snap = snapshot([], []);
    const assessment = await assess(hubConfig, snap, { events: [] });
    const o = { ...buildOverview({ snapshot: snap, config: hubConfig, versions, startedAt: Date.now(), disk, rates, assessment }), fleet: [
      { name: "edge-01", via: "enrolled" as const, connected: true, hub: "hub-2", since: "2026-12-01T10:00:00Z", certDaysLeft: 396, version: "2.15.1",
        report: { verdict: "degraded" as const, problem: { kind: "disk_low", cause: "3 % free" }, problems: 1, unibus: "0.1.0", receivedAt: "2026-12-07T06:00:00Z", ageS: 4, stale: false } },
      { name: "edge-02", via: "enrolled" as const, connected: true, hub: "hub-1", report: { verdict: "healthy" as const, problems: 0, receivedAt: "2026-12-07T06:00:00Z", ageS: 95, stale: true } },
      { name: "garage", via: "user" as const, connected: false },
    ] };
    const text = renderMetrics(snap, o, versions);
    expect(text).toContain('unibus_edge_connected{edge="edge-01",via="enrolled",hub="hub-2"} 1');
    expect(text).toContain('unibus_edge_connected{edge="garage",via="user"} 0');
    expect(text).toContain('unibus_edge_certificate_days_left{edge="edge-01"} 396');
    const html = String(await (<Dashboard nonce="n" overview={o} configToml="" logs={[]} />).toString());
    expect(html).toContain('data-edge="garage" data-state="missing"');
    expect(html).toContain('data-edge="edge-01" data-state="up"');
    // Each edge's own verdict: the page shows it with its first problem, a stale one as stale; /metrics a state set.
    expect(html).toContain('data-edge="edge-01" data-state="up" data-verdict="degraded"');
    expect(html).toContain("degraded: disk_low: 3 % free");
    expect(html).toContain("unibus 0.1.0, nats 2.15.1");
    expect(html).toContain('data-edge="edge-02" data-state="up" data-verdict="stale"');
    expect(html).toContain("stale (healthy 95 s ago)");
    expect(text).toContain('unibus_edge_verdict{edge="edge-01",verdict="degraded"} 1');
    expect(text).toContain('unibus_edge_verdict{edge="edge-01",verdict="healthy"} 0');
    expect(text).toContain('unibus_edge_verdict{edge="edge-02",verdict="healthy"} 0');
    expect(text).toContain('unibus_edge_report_age_seconds{edge="edge-02"} 95');
    expect(text).not.toContain('unibus_edge_verdict{edge="garage"');
  });

  test("Go durations from routez are read as milliseconds", () => {
    expect(parseGoDuration("1.234ms")).toBeCloseTo(1.234);
    expect(parseGoDuration("850µs")).toBeCloseTo(0.85);
    expect(parseGoDuration("2m3s")).toBe(123_000);
    expect(parseGoDuration("soon")).toBeUndefined();
  });
});

describe("the dashboard page", () => {
  test("renders node, clients, cluster SVG, JetStream replicas and KV buckets from fixed data", async () => {
    const tracker = new ClusterTracker();
    const o = await overview({ snapshot: snapshot([route("n2", "412µs"), route("n3", "1.5ms")], [{ name: "n2", current: true }, { name: "n3", current: true }]), config: lab, versions, startedAt: Date.now() - 90_000, disk, rates, tracker });
    const html = String(await (<Dashboard nonce="abc" overview={o} configToml={'[node]\nname = "n1"'} logs={[{ level: "info", text: "hello <world>" }]} />).toString());
    expect(html).toContain('id="node-name">n1<');
    expect(html).toContain("sensor-hub");
    expect(html.match(/data-state="up" data-observed/g)?.length).toBe(3);
    expect(html).toContain("412µs");
    expect(html).toContain("settings"); // KV bucket, without the KV_ prefix
    expect(html).toContain("ORDERS");
    expect(html).toContain("n3 ✗"); // a replica that is not current
    expect(html).toContain("hello &lt;world&gt;"); // log text is escaped
    expect(html).toContain('<script nonce="abc">');
    expect(html).not.toContain("style=");
  });

  test("an unreachable nats-server shows as a clear state on every panel", async () => {
    const err = { ok: false as const, error: "nats-server monitoring at http://127.0.0.1:1 is not reachable (is nats-server running?)" };
    const s: Snapshot = { at: Date.now(), healthz: { ok: false, detail: err.error }, metaHealthz: { ok: false, detail: err.error }, varz: err, connz: err, routez: err, jsz: err, leafz: err };
    const o = await overview({ snapshot: s, config, versions, startedAt: Date.now(), disk, rates, tracker: new ClusterTracker() });
    expect(o.readiness.ready).toBe(false);
    const html = String(await (<Dashboard nonce="n" overview={o} configToml="" logs={[]} />).toString());
    expect(html).toContain("not ready");
    expect(html).toContain("is not reachable (is nats-server running?)");
    expect(html).not.toMatch(/\bat \S+ \([^)]*:\d+:\d+\)|Error:/); // no stack trace
  });

  test("the certificate panel warns under 30 days", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const id = { subject: "CN=n1", issuer: "CN=lab CA", sans: ["n1", "127.0.0.1"], notAfter: new Date(now + 12 * 86_400_000), renewAt: new Date(now), notBefore: new Date(now - 1), daysLeft: 12 } as unknown as NodeIdentity;
    expect(certView(id, now)).toMatchObject({ present: true, daysLeft: 12, warning: "the certificate expires in 12 days", issuer: "CN=lab CA" });
    expect(certView({ ...id, notAfter: new Date(now + 200 * 86_400_000) } as NodeIdentity, now).warning).toBeUndefined();
  });
});

describe("every panel of the registry", () => {
  test("has its own id and a title", () => {
    const ids = PANELS.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of PANELS) {
      expect(p.id).toMatch(/^[a-z][a-z-]*$/);
      expect(p.title.trim().length).toBeGreaterThan(0);
    }
  });

  test("is drawn on the page in registry order, under its id and title, from live data and with nats-server unreachable", async () => {
    const err = { ok: false as const, error: "nats-server monitoring at http://127.0.0.1:1 is not reachable (is nats-server running?)" };
    const down: Snapshot = { at: Date.now(), healthz: { ok: false, detail: err.error }, metaHealthz: { ok: false, detail: err.error }, varz: err, connz: err, routez: err, jsz: err, leafz: err };
    const up = snapshot([route("n2", "412µs"), route("n3", "1.5ms")], [{ name: "n2", current: true }, { name: "n3", current: true }]);
    for (const snap of [up, down]) {
      const o = await overview({ snapshot: snap, config, versions, startedAt: Date.now(), disk, rates, tracker: new ClusterTracker() });
      const html = String(await (<Dashboard nonce="n" overview={o} configToml={'[node]\nname = "n1"'} logs={[{ level: "info", text: "hello" }]} />).toString());
      const drawn = [...html.matchAll(/<section id="([^"]+)"[^>]*aria-label="([^"]+)"/g)].map((m) => [m[1], m[2]]);
      expect(drawn).toEqual(PANELS.map((p) => [p.id, p.title]));
      for (const p of PANELS) {
        const section = html.slice(html.indexOf(`<section id="${p.id}"`), html.indexOf("</section>", html.indexOf(`<section id="${p.id}"`)));
        expect(section, p.id).toContain("<h2");
      }
    }
  });

  test("each overview panel's view is in the overview under its id", async () => {
    const o = await overview({ snapshot: snapshot([], []), config, versions, startedAt: Date.now(), disk, rates });
    for (const p of OVERVIEW_PANELS) expect((o as unknown as Record<string, unknown>)[p.id], p.id).toBeDefined();
    expect(o.node.name).toBe("n1");
    expect(o.health.verdict).toBeDefined();
  });
});

describe("rates and logs", () => {
  test("the sampler turns counters into per-second rates and starts over when nats restarts", () => {
    const s = new RateSampler(async () => ({ in_msgs: 0, out_msgs: 0, in_bytes: 0, out_bytes: 0 }));
    s.record({ in_msgs: 100, out_msgs: 0, in_bytes: 1000, out_bytes: 0 }, 0);
    s.record({ in_msgs: 600, out_msgs: 50, in_bytes: 6000, out_bytes: 500 }, 5000);
    s.record({ in_msgs: 3, out_msgs: 0, in_bytes: 30, out_bytes: 0 }, 10_000); // counters reset
    s.record({ in_msgs: 13, out_msgs: 0, in_bytes: 130, out_bytes: 0 }, 15_000);
    expect(s.points().map((p) => p.inMsgs)).toEqual([100, 2]);
    expect(s.points()[0]!.outBytes).toBe(100);
  });

  test("the log ring keeps the last lines, redacted again on read for secrets registered later", () => {
    const log = new Logger({ sink: () => {} });
    const ring = new LogRing(3, (t) => log.redact(t));
    log.addSink(ring.sink);
    log.info("token is", { token: "sup3r-secret-token" });
    log.addSecret("sup3r-secret-token");
    log.info("two");
    log.info("three");
    log.info("four");
    expect(ring.lines().map((l) => l.text.match(/msg=(\w+)/)?.[1])).toEqual(["two", "three", "four"]);
    const ring2 = new LogRing(10, (t) => log.redact(t));
    ring2.sink('time=x level=info msg="token is" token=sup3r-secret-token', "info");
    expect(ring2.lines()[0]!.text).toContain("token=[redacted]");
  });
});

describe("nats duration texts", () => {
  test("uptimes in nats's own format and Go durations read as milliseconds", () => {
    expect(parseGoDuration("1y2d3h4m5s")).toBe((((365 + 2) * 24 + 3) * 60 + 4) * 60_000 + 5_000);
    expect(parseGoDuration("412µs")).toBeCloseTo(0.412);
    expect(parseGoDuration("1.5s")).toBe(1_500);
    expect(parseGoDuration("3m")).toBe(180_000);
    expect(parseGoDuration("5 parsecs")).toBeUndefined();
  });
});
