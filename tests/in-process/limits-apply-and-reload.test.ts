/**
 * [limits] reach nats-server: a 2,000,000-byte message goes through with
 * max_payload = "8MiB"; `unibus reload` applies max_payload,
 * max_connections, max_control_line, write_deadline and ping_interval live
 * (nats-server's varz shows them) and refuses a max_pending change in plain
 * words, naming the key and that a restart is needed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";
import { monitorJson } from "./cluster-fixtures.ts";

const dir = tempDir("unibus-limits-");
let node: RunningUnibus;
let configFile = "";
let client = 0;
let monitor = 0;

function toml(limits: string): string {
  return nodeToml({ name: "limits", client, monitor, extra: `[limits]\n${limits}\n` });
}

interface Varz { max_payload: number; max_pending: number; max_connections: number; max_control_line: number; write_deadline: number; ping_interval: number }

beforeAll(async () => {
  client = await freePort();
  monitor = await freePort();
  configFile = writeConfig(dir.path, toml('max_payload = "8MiB"'));
  node = new RunningUnibus(["--config", configFile]);
  await node.ready();
}, 90_000);
afterAll(async () => {
  await node?.stop();
  dir[Symbol.dispose]();
});

describe("[limits]", () => {
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

  test("unibus reload applies max_payload, max_connections, max_control_line, write_deadline and ping_interval live", async () => {
    writeFileSync(configFile, toml('max_payload = "4MiB"\nmax_connections = 100\nmax_control_line = "8KiB"\nwrite_deadline = "5s"\nping_interval = "30s"'));
    const r = await runUnibus(["reload", "--config", configFile], { timeoutMs: 90_000 });
    expect(r.stderr + r.stdout).not.toContain("refused");
    expect(r.code).toBe(0);
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
    const r = await runUnibus(["reload", "--config", configFile], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain("limits.max_pending cannot change while running; restart unibus");
    expect(r.stderr + r.stdout).not.toMatch(/0x[0-9a-f]{6,}|old=|MaxPending/);
    const varz = (await monitorJson<Varz>(monitor, "varz"))!;
    expect(varz.max_pending).toBe(64 * 1024 * 1024);
  }, 120_000);
});
