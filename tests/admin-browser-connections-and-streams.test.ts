/**
 * The admin page people can use, in Debian's Chromium: connections named
 * the way people know them (a NATS connection name, an MQTT client id, a
 * WebSocket browser, a leaf edge) with the user each signed in as; a slow
 * consumer nats cut off is flagged; consumers per stream with pending, ack
 * pending and redelivered; KV buckets and object stores under their own
 * names with nats's $MQTT_* plumbing not listed as the user's streams; the
 * log newest first and readable (not raw JSON); and at 375 px (a phone) no
 * sideways scrolling. Screenshots: tests/artifacts/admin-dashboard-1280.png
 * and tests/artifacts/admin-dashboard-375.png (its connections panel alone:
 * tests/artifacts/admin-connections-375.png).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import mqtt, { type MqttClient } from "mqtt";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { wsconnect } from "@nats-io/nats-core";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { RunningUnibus, freePort, nodeToml, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { ARTIFACTS, haveChromium as chromiumPresent, launchChromium } from "./admin-fixtures.ts";

const haveChromium = chromiumPresent();
const dir = tempDir("unibus-admin-usable-");
const PW = { app: "app-password-1", kitchen: "kitchen-password-2", browser: "browser-password-3", edge: "edge-password-4", slow: "slow-password-5" };
let hub: RunningUnibus | undefined;
let edge: RunningUnibus | undefined;
let browser: Browser | undefined;
let base = "";
let token = "";
const closers: (() => Promise<unknown> | unknown)[] = [];

/** makeSlowConsumer subscribes over a raw socket and stops reading, while a publisher floods it: nats cuts it off. */
async function makeSlowConsumer(port: number, publisher: NatsConnection): Promise<void> {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise<void>((res, rej) => { sock.once("connect", () => res()); sock.once("error", rej); });
  sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, name: "slowpoke", user: "slow", pass: PW.slow, lang: "raw", version: "1" })}\r\nSUB flood.> 1\r\nPING\r\n`);
  await Bun.sleep(300);
  sock.pause(); // from now on nothing is read: the kernel buffers fill, then nats's pending buffer
  const chunk = new Uint8Array(60_000).fill(120);
  for (let i = 0; i < 600 && !sock.destroyed; i++) {
    publisher.publish("flood.x", chunk);
    if (i % 50 === 0) await publisher.flush();
  }
  await publisher.flush();
  closers.push(() => sock.destroy());
}

beforeAll(async () => {
  if (!haveChromium) return;
  const client = await freePort();
  const monitor = await freePort();
  const admin = await freePort();
  const mqttPort = await freePort();
  const wsPort = await freePort();
  const leafPort = await freePort();
  const users = Object.entries(PW).map(([user, pw]) => `[[client.users]]\nuser = "${user}"\npassword = "${pw}"\n`).join("");
  const hubConfig = writeConfig(dir.path, nodeToml({
    name: "hub", client, monitor,
    extra: `${users}[admin]\nlisten = "127.0.0.1:${admin}"\n[log]\nformat = "json"\n[limits]\nmax_payload = "64KiB"\nmax_pending = "256KiB"\nwrite_deadline = "1s"\n` +
      `[mqtt]\nlisten = "127.0.0.1:${mqttPort}"\nno_tls = true\n[websocket]\nlisten = "127.0.0.1:${wsPort}"\nno_tls = true\n[leafnodes]\nlisten = "127.0.0.1:${leafPort}"\n`,
  }), "hub.toml");
  writeFileSync(join(dir.path, "edge.secret"), `${PW.edge}\n`, { mode: 0o600 });
  const edgeConfig = writeConfig(dir.path, nodeToml({
    name: "edge-box", client: await freePort(), monitor: await freePort(),
    extra: `[leafnodes]\n[[leafnodes.remotes]]\nurl = "nats-leaf://127.0.0.1:${leafPort}"\nuser = "edge"\nsecret_file = "edge.secret"\n`,
  }).replace('data_dir = "data"', 'data_dir = "edge-data"'), "edge.toml");
  hub = new RunningUnibus(["--config", hubConfig]);
  await hub.waitForLog(/"msg":"unibus ready"/, 90_000); // the hub logs JSON ([log] format)
  edge = new RunningUnibus(["--config", edgeConfig]);
  await edge.ready();
  token = readFileSync(join(dir.path, "data", "admin.token"), "utf8").trim();
  base = `http://127.0.0.1:${admin}`;

  const nc = await connect({ servers: `127.0.0.1:${client}`, name: "order-service", user: "app", pass: PW.app });
  closers.push(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jsm.consumers.add("ORDERS", { durable_name: "billing", ack_policy: AckPolicy.Explicit, ack_wait: 1_000_000_000 });
  const js = jetstream(nc);
  for (let i = 0; i < 20; i++) await js.publish(`orders.${i}`, `order ${i}`);
  const consumer = await js.consumers.get("ORDERS", "billing");
  for await (const _ of await consumer.fetch({ max_messages: 3, expires: 2_000 })) { /* not acked */ }
  await Bun.sleep(1_500); // ack_wait passes: the next fetch redelivers them
  for await (const _ of await consumer.fetch({ max_messages: 5, expires: 2_000 })) { /* still not acked */ }
  await (await new Kvm(nc).create("settings")).put("mode", "eco");
  // An object store's stream, named and bound as nats's object-store clients make it.
  await jsm.streams.add({ name: "OBJ_files", subjects: ["$O.files.C.>", "$O.files.M.>"], allow_rollup_hdrs: true, allow_direct: true });

  const device: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: "kitchen-display", username: "kitchen", password: PW.kitchen, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clean: false });
  await device.subscribeAsync("home/kitchen/#", { qos: 1 });
  closers.push(() => device.endAsync());
  const web = await wsconnect({ servers: `ws://127.0.0.1:${wsPort}`, name: "dashboard-tab", user: "browser", pass: PW.browser, timeout: 5_000 });
  closers.push(() => web.close());

  await makeSlowConsumer(client, nc);
  await waitFor("nats to count the slow consumer", async () => {
    const varz = await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json() as { slow_consumers: number };
    return varz.slow_consumers >= 1;
  }, 30_000, 250);
  await waitFor("the leaf edge to connect", async () => {
    const leafz = await (await fetch(`http://127.0.0.1:${monitor}/leafz`)).json() as { leafnodes: number };
    return leafz.leafnodes >= 1;
  }, 30_000, 250);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
  await browser?.close();
  await edge?.stop();
  await hub?.stop();
  dir[Symbol.dispose]();
});

async function openDashboard(width: number): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${base}/login`);
  await page.fill("#token", token);
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
  await page.waitForSelector("#connections");
  return page;
}

describe.if(haveChromium)("the admin page people can use", () => {
  test("connections show name, user and kind: NATS, MQTT client id, WebSocket, leaf; the slow consumer is flagged", async () => {
    const page = await openDashboard(1280);
    const rows = await page.$$eval("#connections tbody tr", (trs) => trs.map((tr) => ({ kind: tr.getAttribute("data-kind"), name: tr.getAttribute("data-name"), text: tr.textContent ?? "" })));
    const find = (kind: string, name: string) => rows.find((r) => r.kind === kind && r.name === name);
    expect(find("NATS", "order-service")?.text).toContain("app");
    expect(find("MQTT", "kitchen-display")?.text).toContain("kitchen");
    expect(find("WebSocket", "dashboard-tab")?.text).toContain("browser");
    expect(find("leaf", "edge-box")).toBeDefined();
    expect(rows.filter((r) => r.name === "edge-box")).toHaveLength(1); // /connz and /leafz name the same connection once
    expect(Number(await page.getAttribute("#slow-consumers", "data-count"))).toBeGreaterThanOrEqual(1);
    expect(await page.textContent("#slow-consumers")).toContain("slow consumer");
    const slow = await page.$$eval("#slow-closed tbody tr", (trs) => trs.map((tr) => ({ name: tr.getAttribute("data-name"), reason: tr.getAttribute("data-reason") })));
    expect(slow.find((s) => s.name === "slowpoke")?.reason).toMatch(/Slow Consumer/);
    await page.close();
  });

  test("consumers per stream with pending, ack pending and redelivered; KV and object stores by name; $MQTT_ streams not listed", async () => {
    const page = await openDashboard(1280);
    const streams = await page.$$eval("#streams tr[data-stream]", (trs) => trs.map((tr) => tr.getAttribute("data-stream")));
    expect(streams).toEqual(["ORDERS"]);
    expect(await page.$$eval("#kv-buckets tr[data-stream]", (trs) => trs.map((tr) => tr.getAttribute("data-stream")))).toEqual(["settings"]);
    expect(await page.$$eval("#object-stores tr[data-stream]", (trs) => trs.map((tr) => tr.getAttribute("data-stream")))).toEqual(["files"]);
    expect(await page.textContent("#internal-streams")).toContain("$MQTT_");
    const billing = await page.$eval('tr[data-consumer="ORDERS/billing"]', (tr) => ({
      pending: Number(tr.getAttribute("data-pending")), ack: Number(tr.getAttribute("data-ack-pending")), redelivered: Number(tr.getAttribute("data-redelivered")),
    }));
    expect(billing.pending).toBeGreaterThan(0);
    expect(billing.ack).toBeGreaterThan(0);
    expect(billing.redelivered).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, "admin-dashboard-1280.png"), fullPage: true });
    await page.close();
  });

  test("the log is newest first and readable: time, level, message, no raw JSON", async () => {
    const page = await openDashboard(1280);
    const entries = await page.$$eval("#log-lines li", (lis) => lis.map((li) => ({ time: li.querySelector("time")?.textContent ?? "", msg: li.querySelector(".msg")?.textContent ?? "" })));
    expect(entries.length).toBeGreaterThan(5);
    const times = entries.map((e) => e.time).filter(Boolean);
    expect(times[0]! >= times[times.length - 1]!).toBe(true);
    expect([...times].sort().reverse()).toEqual(times);
    expect(entries.some((e) => e.msg.startsWith("{") || e.msg.includes('"level"'))).toBe(false);
    expect(entries.map((e) => e.msg)).toContain("starting unibus");
    await page.close();
  });

  test("at 375 px the page does not scroll sideways", async () => {
    const page = await openDashboard(375);
    const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth }));
    await page.screenshot({ path: join(ARTIFACTS, "admin-dashboard-375.png"), fullPage: true });
    await page.locator("#clients").screenshot({ path: join(ARTIFACTS, "admin-connections-375.png") });
    expect(widths.view).toBe(375);
    expect(widths.doc).toBeLessThanOrEqual(375);
    expect(widths.body).toBeLessThanOrEqual(375);
    await page.close();
  });
});
