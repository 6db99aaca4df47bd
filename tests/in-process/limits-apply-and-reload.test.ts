/**
 * [limits] reach nats-server: a 2,000,000-byte message goes through with
 * max_payload = "8MiB"; a reload applies max_payload, max_connections,
 * max_control_line, write_deadline and ping_interval live (nats-server's
 * varz shows them) and refuses a max_pending change in plain words, naming
 * the key and that a restart is needed. The node runs in this process
 * (tests/_node-harness.ts): the subject is its reload, not the executable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { prerequisite } from "../_helpers.ts";
import { monitorJson } from "../cluster-fixtures.ts";
import { hostNatsAvailable, startNode, type InProcessNode } from "../_node-harness.ts";

const ready = prerequisite(hostNatsAvailable(), "the vendored nats-server for this CPU (npm run fetch)");
let n: InProcessNode;
let configFile = "";
let client = 0;
let monitor = 0;
/** base is the harness's config without the [limits] table. */
let base = "";

function toml(limits: string): string {
  return `${base}[limits]\n${limits}\n`;
}

interface Varz { max_payload: number; max_pending: number; max_connections: number; max_control_line: number; write_deadline: number; ping_interval: number }

beforeAll(async () => {
  if (!ready) return;
  n = await startNode({ name: "limits", extra: '[limits]\nmax_payload = "8MiB"\n' });
  configFile = n.file;
  client = n.config.client.listen.port;
  monitor = n.config.monitor.listen.port;
  base = readFileSync(configFile, "utf8").replace(/\[limits\][\s\S]*$/, "");
}, 90_000);
afterAll(async () => {
  await n?.[Symbol.asyncDispose]();
});

describe.if(ready)("[limits]", () => {
  test('max_payload = "8MiB" carries a 2,000,000-byte message from publisher to subscriber', async () => {
    const nc = await connect({ servers: `127.0.0.1:${client}`, timeout: 5_000, reconnect: false });
    try {
      expect(nc.info?.max_payload).toBe(8 * 1024 * 1024);
      const sub = nc.subscribe("big", { max: 1 });
      await nc.flush();
      const body = new Uint8Array(2_000_000).fill(7);
      nc.publish("big", body);
      for await (const m of sub) expect(m.data.length).toBe(2_000_000);
    } finally {
      await nc.close();
    }
  });

  test("a reload applies max_payload, max_connections, max_control_line, write_deadline and ping_interval live", async () => {
    writeFileSync(configFile, toml('max_payload = "4MiB"\nmax_connections = 100\nmax_control_line = "8KiB"\nwrite_deadline = "5s"\nping_interval = "30s"'));
    const r = await n.node.reloadFromFile();
    expect(r.message).toBe("configuration reloaded");
    expect(r.ok).toBe(true);
    const varz = (await monitorJson<Varz>(monitor, "varz"))!;
    expect(varz.max_payload).toBe(4 * 1024 * 1024);
    expect(varz.max_connections).toBe(100);
    expect(varz.max_control_line).toBe(8 * 1024);
    expect(varz.write_deadline).toBe(5e9);
    expect(varz.ping_interval).toBe(30e9);
    // Anonymous loopback clients still sign in after a reload (nats's own no-auth user survives it).
    const nc = await connect({ servers: `127.0.0.1:${client}`, timeout: 5_000, reconnect: false });
    expect(nc.info?.max_payload).toBe(4 * 1024 * 1024);
    await nc.close();
  }, 120_000);

  test("a max_pending change is refused in plain words: the key and that a restart is needed", async () => {
    writeFileSync(configFile, toml('max_payload = "4MiB"\nmax_pending = "128MiB"'));
    const r = await n.node.reloadFromFile();
    expect(r.ok).toBe(false);
    expect(r.message).toContain("limits.max_pending cannot change while running; restart unibus");
    expect(r.message).not.toMatch(/0x[0-9a-f]{6,}|old=|MaxPending/);
    const varz = (await monitorJson<Varz>(monitor, "varz"))!;
    expect(varz.max_pending).toBe(64 * 1024 * 1024);
  }, 120_000);
});
