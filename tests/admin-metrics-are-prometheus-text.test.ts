/**
 * /metrics of a real node is valid Prometheus text exposition (parsed by
 * parse-prometheus-text-format and checked line by line against the
 * grammar), uses the NATS Prometheus exporter's metric names so existing
 * Grafana dashboards work, and needs the admin token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import parsePrometheusTextFormat, { type MetricFamily } from "parse-prometheus-text-format";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-admin-metrics-");
const client = await freePort();
const monitor = await freePort();
const adminPort = await freePort();
const config = writeConfig(dir.path, nodeToml({ name: "metrics-node", client, monitor, extra: `[admin]\nlisten = "127.0.0.1:${adminPort}"\n` }));
const base = `http://127.0.0.1:${adminPort}`;
let node: RunningUnibus;
let text = "";
const MESSAGES = 25;

beforeAll(async () => {
  node = new RunningUnibus(["--config", config]);
  await node.ready();
  const nc = await connect({ servers: `127.0.0.1:${client}` });
  for (let i = 0; i < MESSAGES; i++) nc.publish("metrics.test", `m${i}`);
  const kv = await new Kvm(nc).create("settings");
  await kv.put("a", "1");
  await nc.flush();
  await nc.close();
  const token = readFileSync(join(dir.path, "data", "admin.token"), "utf8").trim();
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  text = await res.text();
});

afterAll(async () => {
  await node?.stop();
  dir[Symbol.dispose]();
});

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*\\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$`);

function value(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

describe("/metrics", () => {
  test("is valid Prometheus text exposition", () => {
    const families = parsePrometheusTextFormat(text);
    expect(families.length).toBeGreaterThan(30);
    // Strict grammar: HELP, then TYPE, then the family's samples, each family once.
    expect(text.endsWith("\n")).toBe(true);
    const seen = new Set<string>();
    let current = "";
    for (const line of text.slice(0, -1).split("\n")) {
      const help = /^# HELP (\S+) .*$/.exec(line);
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (help) {
        expect(seen.has(help[1]!), `family ${help[1]} appears twice`).toBe(false);
        seen.add(help[1]!);
        current = help[1]!;
      } else if (type) {
        expect(type[1]).toBe(current);
      } else {
        const m = SAMPLE.exec(line);
        expect(m, `not a sample line: ${line}`).not.toBeNull();
        expect(m![1]).toBe(current);
      }
    }
  });

  test("uses the NATS Prometheus exporter's names and labels, with live values", () => {
    const f = parsePrometheusTextFormat(text);
    const serverId = f.find((x) => x.name === "gnatsd_varz_server_id")!.metrics[0]!.labels!.value!;
    expect(serverId).toMatch(/^N[A-Z0-9]{55}$/);
    const id = { server_id: serverId };
    expect(value(f, "gnatsd_varz_in_msgs", id)).toBeGreaterThanOrEqual(MESSAGES);
    for (const name of ["gnatsd_varz_out_msgs", "gnatsd_varz_in_bytes", "gnatsd_varz_out_bytes", "gnatsd_varz_connections", "gnatsd_varz_total_connections",
      "gnatsd_varz_subscriptions", "gnatsd_varz_slow_consumers", "gnatsd_varz_mem", "gnatsd_varz_cpu", "gnatsd_varz_routes", "gnatsd_connz_num_connections",
      "gnatsd_routez_num_routes", "gnatsd_healthz_status"]) {
      expect(value(f, name, id), name).toBeNumber();
    }
    expect(value(f, "gnatsd_varz_server_name", { ...id, value: "metrics-node" })).toBe(1);
    expect(value(f, "gnatsd_healthz_status", id)).toBe(0);
    expect(value(f, "jetstream_server_total_streams", { server_id: serverId, server_name: "metrics-node" })).toBe(1);
    expect(value(f, "jetstream_server_max_storage")).toBe(8 * 1024 ** 3);
    expect(value(f, "jetstream_stream_total_messages", { stream_name: "KV_settings", account: "$G" })).toBe(1);
    expect(value(f, "unibus_ready")).toBe(1);
    expect(value(f, "unibus_nats_monitor_up", { endpoint: "jsz" })).toBe(1);
  });

  test("unibus_info carries the build's version (package version + commit), as `unibus version` prints it and the admin page shows it", async () => {
    const version = /^unibus (\S+)/.exec((await runUnibus(["version"])).stdout)?.[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+\+(git|built)\./);
    expect(value(parsePrometheusTextFormat(text), "unibus_info", { version: version! })).toBe(1);
  }, 30_000);

  test("needs the admin token", async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
  });
});
