/**
 * The NATS exporter's Grafana dashboards get data from a unibus node: Debian's
 * real Prometheus scrapes /metrics with the admin token (the shipped scrape
 * example, packaging/prometheus/unibus.yml), and every metric and every panel
 * query of grafana-nats-dash.json and grafana-jetstream-dash.json (their
 * PromQL in tests/testdata/exporter-dashboards.json) returns samples, with
 * the dashboards' variables set to "all". Consumers have pending, ack-pending
 * and delivered messages so the consumer panels are not empty by accident.
 * unibus's own dashboard (packaging/grafana/unibus.json) gets data on every
 * panel a single node with [tls] can fill (those marked cluster or edge only
 * need those).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { makeCaDir } from "./pki-fixtures.ts";
import { ROOT, RunningUnibus, freePort, nodeToml, prerequisite, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const ready = prerequisite(existsSync(PROMETHEUS), "Debian package prometheus (/usr/bin/prometheus)");
const dashboards = JSON.parse(readFileSync(join(ROOT, "tests", "testdata", "exporter-dashboards.json"), "utf8")) as {
  dashboards: { file: string; panels: { title: string; exprs: string[] }[]; variables: { name: string; query: string }[] }[];
};

const dir = tempDir("unibus-prometheus-");
let node: RunningUnibus;
let prom: ReturnType<typeof Bun.spawn> | undefined;
let promBase = "";
let nc: NatsConnection;

/** query runs an instant PromQL query and returns the number of series in the answer. */
async function query(expr: string): Promise<number> {
  const res = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data!.result.length;
}

/** grafanaToPromQL sets the dashboards' variables to "all" and the rate interval to what 1 s scrapes support. */
function grafanaToPromQL(expr: string): string {
  return expr.replace(/\$server|\$stream|\$consumer/g, ".*").replace(/\$__rate_interval/g, "15s");
}

/** metricNames lists the metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(gnatsd|jetstream)_[a-z0-9_]+/g) ?? [])];
}

beforeAll(async () => {
  if (!ready) return;
  const client = await freePort();
  const admin = await freePort();
  const ca = await makeCaDir(dir.path, "ca");
  const config = writeConfig(dir.path, nodeToml({ name: "prom-node", client, monitor: await freePort(), extra: `[admin]\nlisten = "127.0.0.1:${admin}"\n[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n` }));
  node = new RunningUnibus(["--config", config]);
  await node.ready();

  nc = await connect({ servers: `tls://127.0.0.1:${client}`, tls: { caFile: ca.cert } });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jsm.consumers.add("ORDERS", { durable_name: "billing", ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  for (let i = 0; i < 20; i++) await js.publish(`orders.${i}`, `order ${i}`);
  // Deliver 5 and leave them unacknowledged: ack pending 5, pending 15, delivered 5.
  const consumer = await js.consumers.get("ORDERS", "billing");
  const batch = await consumer.fetch({ max_messages: 5, expires: 2_000 });
  for await (const _ of batch) { /* received, not acked */ }
  await (await new Kvm(nc).create("settings")).put("mode", "eco");

  // The shipped scrape example, pointed at this node and its token.
  const example = readFileSync(join(ROOT, "packaging", "prometheus", "unibus.yml"), "utf8");
  const promConfig = join(dir.path, "prometheus.yml");
  writeFileSync(promConfig, example
    .replace("/etc/unibus/admin.token", join(dir.path, "data", "admin.token"))
    .replace(/scrape_interval: \S+/g, "scrape_interval: 1s")
    .replace("127.0.0.1:8480", `127.0.0.1:${admin}`));
  const promPort = await freePort();
  promBase = `http://127.0.0.1:${promPort}`;
  prom = Bun.spawn([PROMETHEUS, `--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir.path, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdout: "ignore", stderr: "pipe" });
  await waitFor("Prometheus to scrape the node successfully", async () => {
    try {
      const res = await fetch(`${promBase}/api/v1/targets`);
      const t = (await res.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
      const target = t.data.activeTargets[0];
      if (target?.lastError) console.warn(`scrape: ${target.lastError}`);
      return target?.health === "up";
    } catch {
      return false;
    }
  }, 60_000, 500);
  // rate() needs a few samples.
  await waitFor("15 s of samples", async () => (await query("count_over_time(gnatsd_varz_in_msgs[1m])").catch(() => 0)) > 0 && (await query("count_over_time(gnatsd_varz_in_msgs[1m]) >= 5")) > 0, 60_000, 1_000);
}, 180_000);

afterAll(async () => {
  prom?.kill();
  await prom?.exited;
  await nc?.close();
  await node?.stop();
  dir[Symbol.dispose]();
});

describe.if(ready)("Prometheus scraping /metrics fills the exporter's dashboards", () => {
  for (const board of dashboards.dashboards) {
    test(`${board.file}: every metric has data`, async () => {
      const names = [...new Set([...board.panels.flatMap((p) => p.exprs.flatMap(metricNames)), ...board.variables.flatMap((v) => metricNames(v.query ?? ""))])].sort();
      const missing: string[] = [];
      for (const name of names) if ((await query(name)) === 0) missing.push(name);
      console.log(`${board.file}: ${names.length - missing.length} of ${names.length} metrics have data: ${names.join(", ")}`);
      expect(missing).toEqual([]);
    });

    test(`${board.file}: every panel query returns series`, async () => {
      const empty: string[] = [];
      for (const panel of board.panels) {
        const counts = await Promise.all(panel.exprs.map((e) => query(grafanaToPromQL(e))));
        if (counts.some((n) => n === 0)) empty.push(panel.title);
      }
      console.log(`${board.file}: ${board.panels.length - empty.length} of ${board.panels.length} panels have data`);
      expect(empty).toEqual([]);
    });
  }

  test("unibus's own dashboard: every panel a TLS single node can fill has data", async () => {
    const own = JSON.parse(readFileSync(join(ROOT, "packaging", "grafana", "unibus.json"), "utf8")) as { panels: { title: string; description?: string; targets: { expr: string }[] }[] };
    const fillable = own.panels.filter((p) => !/cluster only|edge only/.test(`${p.title} ${p.description ?? ""}`));
    expect(fillable.length).toBeGreaterThanOrEqual(12);
    const empty: string[] = [];
    for (const panel of fillable) {
      const counts = await Promise.all(panel.targets.map((t) => query(t.expr.replace(/\$instance/g, ".*").replace(/\$__rate_interval/g, "15s"))));
      if (counts.some((n) => n === 0)) empty.push(panel.title);
    }
    console.log(`unibus.json: ${fillable.length - empty.length} of ${fillable.length} single-node panels have data (${own.panels.length - fillable.length} need a cluster or an uplink)`);
    expect(empty).toEqual([]);
  });

  test("consumer metrics carry stream and consumer labels and the real positions", async () => {
    const res = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent('jetstream_consumer_num_ack_pending{stream_name="ORDERS",consumer_name="billing"}')}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    expect(body.data.result[0]?.value[1]).toBe("5");
    expect(await query('jetstream_consumer_num_pending{stream_name="ORDERS",consumer_name="billing"} == 15')).toBe(1);
    expect(await query('jetstream_consumer_delivered_consumer_seq{stream_name="ORDERS",consumer_name="billing"} == 5')).toBe(1);
    expect(await query('gnatsd_varz_jetstream_config_max_storage > 0')).toBe(1);
    expect(await query('jetstream_stream_total_messages{stream_name="KV_settings"} == 1')).toBe(1);
  });
});
