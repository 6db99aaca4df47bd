/**
 * MQTT's own streams in a backup: a whole-file restore onto a node whose
 * MQTT already made its streams keeps them and says how to replace them
 * (nats-server holds them open); `--stream $MQTT_rmsgs --overwrite` replaces
 * one, and after the restart the restore asks for, a device gets the
 * retained message back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-backup-mqtt-");
const nodes: { config: string; client: number; mqtt: number; proc?: RunningUnibus }[] = [];
const file = join(dir.path, "mqtt.tar");

async function device(port: number, id: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: id, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, clean: true });
}

beforeAll(async () => {
  for (const name of ["mq-a", "mq-b"]) {
    const folder = join(dir.path, name);
    mkdirSync(folder);
    const client = await freePort();
    const port = await freePort();
    const config = writeConfig(folder, nodeToml({ name, client, monitor: await freePort(), extra: `[mqtt]\nlisten = "127.0.0.1:${port}"\n` }));
    nodes.push({ config, client, mqtt: port, proc: new RunningUnibus(["--config", config]) });
  }
  await Promise.all(nodes.map((n) => n.proc!.ready()));
}, 90_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.proc?.stop()));
  dir[Symbol.dispose]();
});

test("MQTT's streams made by the target are kept on a whole restore, replaced on request, and serve the retained message after the restart", async () => {
  const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
  const pub = await device(a.mqtt, "sensor-1");
  await pub.publishAsync("sensors/kitchen", "21.5", { qos: 1, retain: true });
  await pub.endAsync();
  const nc = await connect({ servers: `127.0.0.1:${a.client}` });
  await (await jetstreamManager(nc)).streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jetstream(nc).publish("orders.1", "one");
  await nc.close();
  const taken = await runUnibus(["backup", "--config", a.config, "--out", file]);
  expect(taken.code).toBe(0);
  // The target's MQTT is in use: it made its own streams.
  const other = await device(b.mqtt, "sensor-2");
  await other.endAsync();

  const whole = await runUnibus(["restore", file, "--config", b.config]);
  expect({ code: whole.code, stderr: whole.stderr }).toEqual({ code: 0, stderr: "" });
  expect(whole.stdout).toContain("restored stream ORDERS: 1 message, 1 replica");
  expect(whole.stdout).toContain("kept stream $MQTT_rmsgs as it is");
  expect(whole.stdout).toContain("--stream $MQTT_rmsgs --overwrite");

  const one = await runUnibus(["restore", file, "--config", b.config, "--stream", "$MQTT_rmsgs", "--overwrite"]);
  expect({ code: one.code, stderr: one.stderr }).toEqual({ code: 0, stderr: "" });
  expect(one.stdout).toContain("restored stream $MQTT_rmsgs: 1 message, 1 replica, replacing the existing one");
  expect(one.stdout).toContain("restart unibus");

  await b.proc!.stop();
  b.proc = new RunningUnibus(["--config", b.config]);
  await b.proc.ready();
  const sub = await device(b.mqtt, "display-1");
  const got = new Promise<{ topic: string; body: string }>((resolve) => sub.on("message", (topic, body) => resolve({ topic, body: body.toString() })));
  await sub.subscribeAsync("sensors/#", { qos: 1 });
  expect(await Promise.race([got, Bun.sleep(15_000).then(() => ({ topic: "none", body: "" }))])).toEqual({ topic: "sensors/kitchen", body: "21.5" });
  await sub.endAsync();
}, 120_000);
