/**
 * MQTT that survives a node, on a LAN of network namespaces grown the way
 * README's join path grows it: `init cluster` makes a alone, the first MQTT
 * device connects while a is the whole cluster (so nats makes MQTT's streams
 * with one replica), then b and c join. Without an edit on any box, every
 * node routes to every other member and MQTT's streams
 * are raised to three replicas. Then a is killed (SIGKILL of its unibus and
 * nats-server) and real MQTT clients (the `mqtt` package) on b and c connect,
 * complete QoS 1 and 2, get a retained message and a will, and the session
 * made on a resumes on b with everything published while it was away.
 * Timings are printed. About 2 minutes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { pidsOf, runUnibus, tempDir, waitFor } from "./_helpers.ts";
import { Lab, sh, type Box } from "./membership-fixtures.ts";

const ready = Lab.available("the MQTT failover test");
const dir = tempDir("unibus-mqtt-ha-");
const lab = new Lab(dir.path, ["a", "b", "c"]);
const PASSWORD = "lamp-device-secret-42";
const MQTT_STREAMS = ["$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs", "$MQTT_qos2in", "$MQTT_out"];
const timings: Record<string, number> = {};
const clients: MqttClient[] = [];
let caPem = "";

/**
 * addDevice gives a box the device user (a file user; the cluster's own users are another
 * helper's test). The MQTT listener itself comes from `init cluster --mqtt-listen` on a and
 * from the join on the others: no box's [mqtt] is edited.
 */
function addDevice(b: Box): void {
  expect(readFileSync(b.config, "utf8")).toContain('[mqtt]\n');
  writeFileSync(join(b.dir, "device.pass"), PASSWORD, { mode: 0o600 });
  appendFileSync(b.config, `\n[[client.users]]\nuser = "device"\npassword_file = "device.pass"\n`);
}

function mqttOptions(clientId: string, extra: Partial<IClientOptions> = {}): IClientOptions {
  return { clientId, username: "device", password: PASSWORD, ca: caPem, rejectUnauthorized: true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 15_000, clean: true, ...extra };
}

async function mqttConnect(b: Box, clientId: string, extra: Partial<IClientOptions> = {}, onMessage?: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  // The certificate names the box's address; the client checks it.
  const c = mqtt.connect(`mqtts://${b.ip}:1883`, mqttOptions(clientId, extra));
  if (onMessage) c.on("message", onMessage);
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      c.end(true);
      reject(err);
    };
    c.once("connect", () => resolve());
    c.once("error", fail);
    c.once("close", () => fail(new Error(`MQTT connection to ${b.name} closed before CONNACK`)));
  });
  c.removeAllListeners("error");
  c.removeAllListeners("close");
  c.on("error", () => {});
  return c;
}

/** mqttConnectRetrying connects the way a device does: again every quarter second until it is in. */
async function mqttConnectRetrying(b: Box, clientId: string, extra: Partial<IClientOptions> = {}, onMessage?: (topic: string, payload: Buffer) => void, timeoutMs = 60_000): Promise<{ client: MqttClient; attempts: number }> {
  let client: MqttClient | undefined;
  let attempts = 0;
  let last = "";
  await waitFor(`an MQTT connect to ${b.name} as ${clientId}`, async () => {
    attempts++;
    try {
      client = await mqttConnect(b, clientId, extra, onMessage);
      return true;
    } catch (err) {
      last = (err as Error).message;
      return false;
    }
  }, timeoutMs, 250).catch((err: Error) => {
    throw new Error(`${err.message} (last: ${last})`);
  });
  return { client: client!, attempts };
}

/** renderedRoutes reads the route addresses out of a box's nats-server.conf. */
function renderedRoutes(b: Box): string[] {
  const conf = JSON.parse(readFileSync(join(b.dir, "data", "nats-server.conf"), "utf8").replace(/^#.*\n/, ""));
  return (conf.cluster.routes as string[]).map((u) => u.replace(/^.*@/, "")).sort();
}

function renderedMqttReplicas(b: Box): number | undefined {
  const conf = JSON.parse(readFileSync(join(b.dir, "data", "nats-server.conf"), "utf8").replace(/^#.*\n/, ""));
  return conf.mqtt?.stream_replicas;
}

/** mqttReplicas reads, from one box's /jsz, how many replicas each MQTT stream has. */
function mqttReplicas(b: Box): Record<string, number> {
  const jsz = lab.monitor(b, "jsz?accounts=true&streams=true&config=true");
  const out: Record<string, number> = {};
  for (const acc of jsz?.account_details ?? []) {
    for (const s of acc.stream_detail ?? []) if (MQTT_STREAMS.includes(s.name)) out[s.name] = s.config?.num_replicas ?? 0;
  }
  return out;
}

/** subscribeRetrying subscribes the way a device that checks its SUBACK does: again until granted; returns the refusals. */
async function subscribeRetrying(client: MqttClient, topic: string, qos: 0 | 1 | 2): Promise<number> {
  let refused = 0;
  for (;;) {
    try {
      const granted = await client.subscribeAsync(topic, { qos });
      expect(granted[0]!.qos).toBe(qos);
      return refused;
    } catch (err) {
      if (++refused >= 5) throw err;
    }
  }
}

/** joinBox joins a box with a fresh line from a, adds the MQTT edit and starts it. */
async function joinBox(b: Box): Promise<void> {
  const a = lab.box("a");
  const line = await lab.unibus(a, ["token", "create", "--config", a.config, "--quiet"]);
  const m = /^unibus join (\S+) --token (UB1-\S+)$/.exec(line.stdout.trim());
  if (!m) throw new Error(`token create printed no join line: ${line.stdout}${line.stderr}`);
  const r = await lab.unibus(b, ["join", m[1]!, "--token", m[2]!, "--name", b.name, "--out", b.dir]);
  expect(r.stderr + r.stdout).toContain(`joined cluster "mqttlab" as "${b.name}"`);
  addDevice(b);
  lab.start(b);
}

function kill(b: Box): void {
  for (const pid of pidsOf(b.dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  b.proc = undefined;
}

beforeAll(async () => {
  if (!ready) return;
  lab.create();
  // The test process reaches the boxes over the bridge, as a device on the LAN does.
  sh(["ip", "addr", "add", `${lab.subnet}.254/24`, "dev", lab.bridge]);
  const a = lab.box("a");
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "mqttlab", "--node", `a=${a.ip}`, "--mqtt-listen", "0.0.0.0:1883", "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  cpSync(join(gen, "certs"), join(a.dir, "certs"), { recursive: true });
  for (const f of ["cluster.secret", "join-tokens.secret"]) cpSync(join(gen, f), join(a.dir, f));
  cpSync(join(gen, "a.toml"), a.config);
  caPem = readFileSync(join(a.dir, "certs", "ca.pem"), "utf8");
  addDevice(a);
  lab.start(a);
  await waitFor("a to run", () => a.log.includes("join port open"), 60_000);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await lab.destroy();
  console.log(`MQTT failover timings (netns): ${JSON.stringify(timings)}`);
  if (process.env.UNIBUS_TEST_SHOW_LOGS) for (const b of lab.boxes) console.log(`--- ${b.name}\n${b.log}`);
  dir[Symbol.dispose]();
}, 60_000);

describe.if(ready)("MQTT survives a node", () => {
  test("b joins: each routes to the other member without an edit, and the first device's streams get two replicas", async () => {
    const [a, b] = [lab.box("a"), lab.box("b")];
    expect(renderedRoutes(a)).toEqual([`${a.ip}:6222`]);
    const aConfig = readFileSync(a.config, "utf8");
    await joinBox(b);
    const t0 = performance.now();
    await waitFor("a and b in one mesh", () => lab.formed([a, b]), 90_000, 100);
    // Each the other, never itself beside it (a fresh meta group would wait for every listed route's server).
    await waitFor("a's rendered routes to list b without an edit", () => JSON.stringify(renderedRoutes(a)) === JSON.stringify([`${b.ip}:6222`]) && JSON.stringify(renderedRoutes(b)) === JSON.stringify([`${a.ip}:6222`]), 60_000, 250);
    timings.routes_follow_two_ms = Math.round(performance.now() - t0);
    expect(readFileSync(a.config, "utf8")).toBe(aConfig);
    await waitFor("a to log its new routes", () => a.log.includes("nats-server now routes to every member"), 30_000, 250); // its log reaches us through a pipe
    for (const x of [a, b]) expect(renderedMqttReplicas(x)).toBe(2);
    await waitFor("a and b healthy", async () => (await Promise.all([a, b].map((x) => lab.status(x)))).every((r) => r.code === 0), 60_000, 250);
    // The first device: a persistent session with a QoS 1 subscription, made on a.
    const { client: lamp } = await mqttConnectRetrying(a, "lamp-1", { clean: false });
    expect((await lamp.subscribeAsync("home/+/state", { qos: 1 }))[0]!.qos).toBe(1);
    await lamp.endAsync();
    await waitFor("a's MQTT streams", () => Object.keys(mqttReplicas(a)).length === MQTT_STREAMS.length, 30_000, 250);
    expect(Object.values(mqttReplicas(a))).toEqual([2, 2, 2, 2, 2]);
  }, 240_000);

  test("c joins: every node routes to every other member, and MQTT's streams are raised to three replicas without an edit", async () => {
    const a = lab.box("a");
    const aConfig = readFileSync(a.config, "utf8");
    await joinBox(lab.box("c"));
    const t0 = performance.now();
    await waitFor("a, b and c in one mesh", () => lab.formed(), 90_000, 100);
    timings.formed_ms = Math.round(performance.now() - t0);
    const others = (b: Box) => lab.boxes.filter((x) => x !== b).map((x) => `${x.ip}:6222`).sort();
    await waitFor("every node's rendered routes to list every other member", () => lab.boxes.every((b) => JSON.stringify(renderedRoutes(b)) === JSON.stringify(others(b))), 60_000, 250);
    timings.routes_follow_ms = Math.round(performance.now() - t0);
    for (const b of lab.boxes) expect(renderedMqttReplicas(b)).toBe(3);
    expect(readFileSync(a.config, "utf8")).toBe(aConfig); // no edit on a
    await waitFor("MQTT's streams at three replicas", () => {
      const r = mqttReplicas(a);
      return MQTT_STREAMS.every((s) => r[s] === 3);
    }, 90_000, 500);
    timings.raised_to_r3_ms = Math.round(performance.now() - t0);
    await waitFor("the meta leader to say it raised them", () => lab.boxes.some((b) => b.log.includes("raised an MQTT stream's replicas")), 10_000, 100);
  }, 240_000);

  test("with a killed, MQTT on b and c connects, completes QoS 1 and 2, keeps retained messages and wills, and a's session resumes on b with what it missed", async () => {
    const [a, b, c] = [lab.box("a"), lab.box("b"), lab.box("c")];
    // Wait until every replica is current, so the kill tests failover and not a catch-up.
    // Wait until every replica of MQTT's streams and of lamp-1's consumers is current, so the kill tests failover and not a catch-up.
    let seen = "";
    await waitFor("MQTT's replicas current on the stream and consumer leaders", () => {
      // Only a stream's (or consumer's) leader knows how its followers are doing.
      const led = new Map<string, boolean>();
      const groups: string[] = [];
      for (const x of lab.boxes) {
        const jsz = lab.monitor(x, "jsz?accounts=true&streams=true&consumers=true");
        for (const s of (jsz?.account_details ?? []).flatMap((d: any) => d.stream_detail ?? [])) {
          if (!MQTT_STREAMS.includes(s.name)) continue;
          const current = (c: any) => c?.leader === x.name && (c.replicas ?? []).length === 2 && c.replicas.every((p: any) => p.current);
          if (s.cluster?.leader === x.name) led.set(s.name, current(s.cluster));
          for (const c of s.consumer_detail ?? []) {
            groups.push(`${s.name}>${c.name}:${c.cluster?.leader}/${(c.cluster?.replicas ?? []).length + 1}`);
            // Each server keeps its own one-replica consumer of the retained messages: it goes with its server.
            if (c.cluster?.leader === x.name && (c.cluster.replicas ?? []).length > 0) led.set(`${s.name}>${c.name}`, current(c.cluster));
          }
        }
      }
      seen = JSON.stringify([...led]) + " " + groups.join(",");
      return MQTT_STREAMS.every((n) => led.get(n) === true) && [...led.values()].every(Boolean);
    }, 60_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen}`);
    });
    console.log(`MQTT groups before the kill: ${seen}`);
    const hall = await mqttConnect(b, "hall-sensor");
    await hall.publishAsync("home/hall/state", "on", { qos: 1, retain: true });
    await hall.endAsync();

    const t0 = performance.now();
    kill(a);
    // Devices retry: the first connect that succeeds after the cut is what a user sees.
    const { client: probe, attempts } = await mqttConnectRetrying(b, "probe");
    timings.connect_after_kill_ms = Math.round(performance.now() - t0);
    timings.connect_attempts = attempts;
    await probe.endAsync();
    // nats elects new leaders for the meta group, each stream and each consumer a held: time until all have one.
    await waitFor("every MQTT stream led by b or c", () => {
      const leaders = new Map<string, string>();
      for (const x of [b, c]) {
        const jsz = lab.monitor(x, "jsz?accounts=true&streams=true");
        for (const s of (jsz?.account_details ?? []).flatMap((d: any) => d.stream_detail ?? [])) if (s.cluster?.leader === x.name) leaders.set(s.name, x.name);
      }
      const meta = [b, c].map((x) => lab.monitor(x, "jsz")?.meta_cluster?.leader);
      return MQTT_STREAMS.every((n) => leaders.has(n)) && meta.every((m) => m === b.name || m === c.name);
    }, 60_000, 250);
    timings.leaders_after_kill_ms = Math.round(performance.now() - t0);

    // While lamp-1 is away: QoS 1 messages for it, published on c.
    const { client: pub, attempts: pubAttempts } = await mqttConnectRetrying(c, "switch-1");
    timings.connect_on_c_attempts = pubAttempts;
    const N = 20;
    for (let i = 0; i < N; i++) await pub.publishAsync("home/lamp/state", `m${i}`, { qos: 1 });
    timings.qos1_published = N;

    // lamp-1 (made on a) resumes on b and receives what it missed.
    const got: string[] = [];
    await mqttConnectRetrying(b, "lamp-1", { clean: false }, (topic, payload) => {
      if (topic === "home/lamp/state") got.push(payload.toString());
    });
    await waitFor(`lamp-1 to receive the ${N} messages published while it was away`, () => new Set(got).size === N, 30_000, 100);
    timings.session_messages_delivered = new Set(got).size;
    expect([...new Set(got)].sort()).toEqual(Array.from({ length: N }, (_, i) => `m${i}`).sort());

    // QoS 2 both ways across the survivors: exactly once.
    const q2got: string[] = [];
    const { client: q2sub } = await mqttConnectRetrying(c, "q2-sub");
    q2sub.on("message", (topic, payload) => void (topic === "q2/test" && q2got.push(payload.toString())));
    timings.subscribe_refusals = await subscribeRetrying(q2sub, "q2/test", 2);
    const { client: q2pub } = await mqttConnectRetrying(b, "q2-pub");
    for (let i = 0; i < 10; i++) await q2pub.publishAsync("q2/test", `q${i}`, { qos: 2 });
    await waitFor("the 10 QoS 2 messages", () => q2got.length >= 10, 20_000, 100);
    await Bun.sleep(500);
    expect(q2got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `q${i}`).sort());
    timings.qos2_delivered = q2got.length;

    // A retained message stored before the cut reaches a new subscriber on c.
    const { client: retained } = await mqttConnectRetrying(c, "hall-display");
    const rgot: { data: string; retain: boolean }[] = [];
    retained.on("message", (_t, payload, packet) => rgot.push({ data: payload.toString(), retain: packet.retain }));
    timings.subscribe_refusals += await subscribeRetrying(retained, "home/hall/state", 1);
    await waitFor("the retained message", () => rgot.length > 0, 10_000, 100);
    expect(rgot[0]).toEqual({ data: "on", retain: true });

    // A will: a device on c drops without DISCONNECT; a subscriber on b hears its will.
    const wgot: string[] = [];
    const { client: watcher } = await mqttConnectRetrying(b, "watcher");
    watcher.on("message", (topic, payload) => void (topic === "home/plug/status" && wgot.push(payload.toString())));
    timings.subscribe_refusals += await subscribeRetrying(watcher, "home/plug/status", 1);
    const { client: plug } = await mqttConnectRetrying(c, "plug-1", { will: { topic: "home/plug/status", payload: Buffer.from("offline"), qos: 1, retain: false } });
    plug.stream.destroy();
    await waitFor("the will of plug-1", () => wgot.length > 0, 20_000, 100);
    expect(wgot[0]).toBe("offline");

    // Status on a survivor names a down member, and no MQTT stream as offline or under-replicated.
    const { status } = await lab.status(b);
    const kinds = (status?.problems ?? []).map((p: { kind: string }) => p.kind);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.filter((k: string) => k.startsWith("mqtt_"))).toEqual([]);
  }, 240_000);
});
