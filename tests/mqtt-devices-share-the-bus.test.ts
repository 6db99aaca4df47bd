/**
 * MQTT: nats-server's built-in MQTT listener, opened by [mqtt] and guarded
 * by the same [[client.users]] as the client port, over TLS with the node
 * certificate. A real MQTT client (the `mqtt` package) publishes QoS 1 and
 * a NATS subscriber receives it, and the reverse; MQTT clients without the
 * right credentials are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import mqtt, { type MqttClient } from "mqtt";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const DEVICE_PW = "device-mqtt-secret-42";
const ADMIN_PW = "admin-nats-secret-42";

const dir = tempDir("unibus-mqtt-");
let node: RunningUnibus;
let caPem = "";
let mqttUrl = "";
let configFile = "";
let nc: NatsConnection;
const mqttClients: MqttClient[] = [];

function mqttConnect(opts: { username?: string; password?: string; clientId: string }): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, { ...opts, ca: caPem, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clean: true }).then((c) => {
    mqttClients.push(c);
    return c;
  });
}

beforeAll(async () => {
  const ca = await makeCaDir(dir.path, "ca");
  caPem = readFileSync(ca.cert, "utf8");
  writeFileSync(join(dir.path, "device.pass"), DEVICE_PW, { mode: 0o600 });
  const client = await freePort();
  const mqttPort = await freePort();
  mqttUrl = `mqtts://127.0.0.1:${mqttPort}`;
  const config = configFile = writeConfig(dir.path, `
[node]
name = "mqtt-1"
data_dir = "data"
[client]
listen = "127.0.0.1:${client}"
[[client.users]]
user = "device"
password_file = "device.pass"
publish = { allow = ["sensors.>"] }
subscribe = { allow = ["cmd.device.>"] }
[[client.users]]
user = "admin"
password_env = "UNIBUS_TEST_ADMIN_PW"
[mqtt]
listen = "127.0.0.1:${mqttPort}"
[tls]
ca_cert = "${ca.cert}"
ca_key = "${ca.key}"
[monitor]
listen = "127.0.0.1:${await freePort()}"
[admin]
listen = "127.0.0.1:${await freePort()}"
`);
  node = new RunningUnibus(["--config", config], { UNIBUS_TEST_ADMIN_PW: ADMIN_PW });
  await node.ready();
  nc = await connect({ servers: `tls://127.0.0.1:${client}`, tls: { caFile: ca.cert }, user: "admin", pass: ADMIN_PW, timeout: 5_000 });
});

afterAll(async () => {
  for (const c of mqttClients) await c.endAsync(true).catch(() => {});
  await nc?.close();
  await node?.stop();
  if (process.env.UNIBUS_TEST_SHOW_LOGS) console.log(node?.log);
  dir[Symbol.dispose]();
});

describe("MQTT devices share the bus with NATS clients", () => {
  test("an MQTT QoS 1 publish reaches a NATS subscriber", async () => {
    const got: { subject: string; data: string }[] = [];
    nc.subscribe("sensors.>", { callback: (_e, m) => void got.push({ subject: m.subject, data: m.string() }) });
    await nc.flush();
    const device = await mqttConnect({ username: "device", password: DEVICE_PW, clientId: "pump-1" });
    // with QoS 1 the promise settles when the broker's PUBACK arrives
    const sent = await device.publishAsync("sensors/kitchen/temp", "21.5", { qos: 1 });
    expect(sent && "qos" in sent ? sent.qos : undefined).toBe(1);
    await waitFor("the NATS subscriber to receive the MQTT message", () => got.length > 0, 10_000, 25);
    expect(got[0]).toEqual({ subject: "sensors.kitchen.temp", data: "21.5" });
  });

  test("a NATS publish reaches an MQTT QoS 1 subscriber", async () => {
    const device = await mqttConnect({ username: "device", password: DEVICE_PW, clientId: "pump-2" });
    const got: { topic: string; data: string; qos: number }[] = [];
    device.on("message", (topic, payload, packet) => got.push({ topic, data: payload.toString(), qos: packet.qos }));
    const granted = await device.subscribeAsync("cmd/device/+", { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await waitFor("the MQTT subscriber to receive the NATS message", async () => {
      nc.publish("cmd.device.reset", "now");
      await nc.flush();
      await Bun.sleep(100);
      return got.length > 0;
    }, 10_000, 25);
    expect(got[0]).toEqual({ topic: "cmd/device/reset", data: "now", qos: 0 });
  });

  test("MQTT without credentials, or with a wrong password, is refused", async () => {
    await expect(mqttConnect({ clientId: "anon" })).rejects.toThrow(/Not authorized|Connection refused/i);
    await expect(mqttConnect({ username: "device", password: "wrong-password", clientId: "liar" })).rejects.toThrow(/Not authorized|Connection refused|Bad username/i);
  });

  test("the MQTT port speaks TLS with the node certificate and never answers MQTT in clear", async () => {
    const port = Number(new URL(mqttUrl).port);
    // TLS: the certificate chains to the cluster CA and names this node
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, ca: caPem }, () => {
        resolve(s.getPeerCertificate());
        s.destroy();
      });
      s.once("error", reject);
    });
    expect(peer.subject.CN).toBe("mqtt-1");
    // clear text: an MQTT CONNECT gets no CONNACK, the connection is closed
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 1, 0x70]));
      });
      s.on("data", (d: Buffer) => void chunks.push(d));
      s.on("close", () => resolve(Buffer.concat(chunks)));
      s.on("error", () => {});
      setTimeout(() => s.destroy(), 10_000);
    });
    expect(answer[0]).not.toBe(0x20);
    expect(node.log).not.toContain(DEVICE_PW);
  });

  test("a topic nats refuses (a Zigbee2MQTT friendly name with spaces) is named by status: the client, the topic, the fix", async () => {
    // A publish: nats closes the connection and logs only the client id.
    const bridge = await mqttConnect({ username: "device", password: DEVICE_PW, clientId: "zb-bridge" });
    const closed = new Promise<void>((resolve) => bridge.once("close", () => resolve()));
    bridge.publish("sensors/Living Room Lamp", "on", { qos: 1 });
    await closed;
    // A subscribe: nats names the topic too.
    const panel = await mqttConnect({ username: "device", password: DEVICE_PW, clientId: "wall-panel" });
    await expect(panel.subscribeAsync("cmd/device/Living Room/#", { qos: 1 })).rejects.toThrow();
    let problems: { kind: string; cause: string; fix: string }[] = [];
    let said = "";
    await waitFor("status to name both refusals", async () => {
      const r = await runUnibus(["status", "--json", "--config", configFile], { env: { UNIBUS_TEST_ADMIN_PW: ADMIN_PW } });
      said = r.stdout + r.stderr;
      problems = (JSON.parse(r.stdout || "{}").problems ?? []).filter((p: { kind: string }) => p.kind === "mqtt_topic_refused");
      return problems.length === 2;
    }, 30_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}; status said: ${said.slice(0, 3000)}`);
    });
    const [panelP, bridgeP] = [problems.find((p) => p.cause.includes('"wall-panel"'))!, problems.find((p) => p.cause.includes('"zb-bridge"'))!];
    expect(bridgeP.cause).toContain("spaces");
    expect(panelP.cause).toContain('"cmd/device/Living Room/#"');
    for (const p of [panelP, bridgeP]) expect(p.fix).toContain("friendly name without spaces");
  }, 60_000);
});
