/**
 * A three-node loopback cluster with an R3 stream (and a durable consumer),
 * an R3 KV bucket and an R3 object store is backed up from a follower while
 * it runs; the file is restored onto a fresh single node and checked
 * message by message, key by key and object by object; one stream goes back
 * into the running cluster only with --overwrite; a damaged or cut-short
 * file, and a restore that fails half-way, change nothing; the cluster
 * files come back out, the CA key only with the passphrase.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { headers, type NatsConnection, connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { makeLoopbackCluster, metaLeader, startNode, tlsConnect, type LoopbackCluster } from "./cluster-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-backup-cluster-");
let cluster: LoopbackCluster;
let nc: NatsConnection;
let fresh: RunningUnibus;
let freshNc: NatsConnection;
let freshConfig: string;
const backupFile = join(dir.path, "cluster.tar");
const passFile = join(dir.path, "pass.txt");
const MESSAGES = 1500;
const timings: Record<string, number> = {};

/** payload makes message i's body: sizes vary from a few bytes to 20 KB, content depends on i. */
function payload(i: number): Uint8Array {
  const n = 5 + ((i * 7919) % 20_000);
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = (i + k * 31) & 0xff;
  return out;
}

beforeAll(async () => {
  cluster = await makeLoopbackCluster(dir.path, ["bk-a", "bk-b", "bk-c"]);
  for (const node of cluster.nodes) startNode(node);
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready()));
  await waitFor("a JetStream meta leader every node knows", async () => {
    const leaders = await Promise.all(cluster.nodes.map((n) => metaLeader(n.monitor)));
    return Boolean(leaders[0]) && leaders.every((l) => l === leaders[0]);
  }, 90_000, 100);
  nc = await tlsConnect(cluster.nodes.map((n) => n.client), cluster.ca.cert);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], num_replicas: 3 });
  const js = jetstream(nc);
  for (let i = 0; i < MESSAGES; i++) {
    const h = headers();
    h.set("n", String(i));
    await js.publish(`orders.${i % 13}`, payload(i), { headers: h });
  }
  await jsm.consumers.add("ORDERS", { durable_name: "billing", ack_policy: "explicit" });
  // Acknowledge a few, so the consumer has state to bring back.
  const billing = await js.consumers.get("ORDERS", "billing");
  const batch = await billing.fetch({ max_messages: 10, expires: 5_000 });
  for await (const m of batch) m.ack();
  const kv = await new Kvm(nc).create("settings", { replicas: 3, history: 5 });
  for (let i = 0; i < 200; i++) await kv.put(`key.${i}`, `value ${i}`);
  for (let i = 0; i < 50; i++) await kv.put(`key.${i}`, `changed ${i}`);
  for (let i = 190; i < 200; i++) await kv.delete(`key.${i}`);
  const os = await new Objm(nc).create("files", { replicas: 3 });
  await os.putBlob({ name: "big.bin" }, payload(4_000_000).subarray(0, 1_500_000).map((b, i) => (b ^ i) & 0xff));
  await os.putBlob({ name: "small.txt" }, new TextEncoder().encode("hello from the object store"));
  writeFileSync(passFile, "correct horse battery staple\n", { mode: 0o600 });

  const freshDir = join(dir.path, "fresh");
  require("node:fs").mkdirSync(freshDir);
  const client = await freePort();
  freshConfig = writeConfig(freshDir, nodeToml({ name: "fresh", client, monitor: await freePort() }));
  fresh = new RunningUnibus(["--config", freshConfig]);
  await fresh.ready();
  freshNc = await connect({ servers: `127.0.0.1:${client}` });
}, 240_000);

afterAll(async () => {
  await nc?.close().catch(() => {});
  await freshNc?.close().catch(() => {});
  await fresh?.stop();
  await Promise.all(cluster?.nodes.map((n) => n.proc?.stop()) ?? []);
  console.log(`backup/restore timings (loopback, ${MESSAGES} messages, 250 KV writes, 1.5 MB object): ${JSON.stringify(timings)}`);
  dir[Symbol.dispose]();
});

/** sameMessages compares every sequence of a stream on two servers: subject, data and headers. */
async function expectSameMessages(a: JetStreamManager, b: JetStreamManager, stream: string): Promise<number> {
  const ia = await a.streams.info(stream);
  const ib = await b.streams.info(stream);
  expect({ messages: ib.state.messages, first: ib.state.first_seq, last: ib.state.last_seq }).toEqual({ messages: ia.state.messages, first: ia.state.first_seq, last: ia.state.last_seq });
  let compared = 0;
  for (let seq = ia.state.first_seq; seq <= ia.state.last_seq; seq++) {
    const ma = await a.streams.getMessage(stream, { seq }).catch(() => null);
    const mb = await b.streams.getMessage(stream, { seq }).catch(() => null);
    expect(Boolean(mb)).toBe(Boolean(ma));
    if (!ma || !mb) continue;
    expect(mb.subject).toBe(ma.subject);
    expect(Buffer.from(mb.data).equals(Buffer.from(ma.data))).toBe(true);
    expect(mb.header?.get("n") ?? "").toBe(ma.header?.get("n") ?? "");
    compared++;
  }
  return compared;
}

describe("backup of a running three-node cluster", () => {
  test("unibus backup on a follower writes one 0600 file with every stream, bucket and object store and the cluster files", async () => {
    const t0 = performance.now();
    const r = await runUnibus(["backup", "--config", cluster.nodes[1]!.config, "--out", backupFile, "--passphrase-file", passFile], { timeoutMs: 120_000 });
    timings.backup_ms = Math.round(performance.now() - t0);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("3 streams (1 KV bucket, 1 object store)");
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    timings.backup_bytes = statSync(backupFile).size;
    const inspect = await runUnibus(["backup", "inspect", backupFile, "--verify"]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/stream\s+ORDERS\s+1500\s+1\.\.1500\s+3\s+1/);
    expect(inspect.stdout).toMatch(/kv\s+settings\s+/);
    expect(inspect.stdout).toMatch(/object\s+files\s+/);
    expect(inspect.stdout).toContain("CA certificate");
    expect(inspect.stdout).toContain("CA key (encrypted with the backup passphrase)");
    expect(inspect.stdout).toContain("members list");
    expect(inspect.stdout).toContain("verified: every entry matches its SHA-256");
    // The CA key never appears in clear in the file.
    const key = readFileSync(cluster.ca.key, "utf8").split("\n").filter((l) => l && !l.startsWith("-----"))[0]!;
    expect(readFileSync(backupFile).includes(Buffer.from(key))).toBe(false);
  }, 150_000);

  test("restore onto a fresh single node brings back every message, key and object", async () => {
    const t0 = performance.now();
    const r = await runUnibus(["restore", backupFile, "--config", freshConfig], { timeoutMs: 180_000 });
    timings.restore_ms = Math.round(performance.now() - t0);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("restored stream ORDERS: 1500 messages, 1 replica");
    expect(r.stdout).toContain("3 replicas in the backup, 1 here");
    const a = await jetstreamManager(nc);
    const b = await jetstreamManager(freshNc);
    expect(await expectSameMessages(a, b, "ORDERS")).toBe(MESSAGES);
    // The durable consumer came back with the stream, where it had got to.
    const billing = await b.consumers.info("ORDERS", "billing");
    expect(billing.ack_floor.stream_seq).toBe((await a.consumers.info("ORDERS", "billing")).ack_floor.stream_seq);
    expect(billing.ack_floor.stream_seq).toBeGreaterThanOrEqual(1);
    // KV: every key, its value and its revision; deleted keys stay deleted.
    const kvA = await new Kvm(nc).open("settings");
    const kvB = await new Kvm(freshNc).open("settings");
    const keysA = (await Array.fromAsync(await kvA.keys())).sort();
    const keysB = (await Array.fromAsync(await kvB.keys())).sort();
    expect(keysB).toEqual(keysA);
    expect(keysA).toHaveLength(190);
    for (const k of keysA) {
      const ea = await kvA.get(k);
      const eb = await kvB.get(k);
      expect({ k, v: eb?.string(), rev: eb?.revision }).toEqual({ k, v: ea?.string(), rev: ea?.revision });
    }
    expect(await expectSameMessages(a, b, "KV_settings")).toBeGreaterThan(0);
    // Objects: the same names, sizes, digests and bytes.
    const osA = await new Objm(nc).open("files");
    const osB = await new Objm(freshNc).open("files");
    const listA = (await osA.list()).map((o) => ({ name: o.name, size: o.size, digest: o.digest })).sort((x, y) => x.name.localeCompare(y.name));
    const listB = (await osB.list()).map((o) => ({ name: o.name, size: o.size, digest: o.digest })).sort((x, y) => x.name.localeCompare(y.name));
    expect(listB).toEqual(listA);
    for (const o of listA) {
      const da = await osA.getBlob(o.name);
      const db = await osB.getBlob(o.name);
      expect(Buffer.from(db!).equals(Buffer.from(da!))).toBe(true);
    }
  }, 240_000);

  test("one stream goes back into the running cluster only with --overwrite, keeping its three replicas", async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < 25; i++) await js.publish("orders.late", "after the backup");
    const refused = await runUnibus(["restore", backupFile, "--config", cluster.nodes[2]!.config, "--stream", "ORDERS"], { timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("refusing to overwrite stream ORDERS (1525 messages)");
    expect(refused.stderr).toContain("--overwrite");
    expect((await jsm.streams.info("ORDERS")).state.messages).toBe(MESSAGES + 25);
    const r = await runUnibus(["restore", backupFile, "--config", cluster.nodes[2]!.config, "--stream", "ORDERS", "--overwrite"], { timeoutMs: 120_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("restored stream ORDERS: 1500 messages, 3 replicas, replacing the existing one");
    const info = await jsm.streams.info("ORDERS");
    expect(info.state.messages).toBe(MESSAGES);
    expect(info.config.num_replicas).toBe(3);
    expect(await expectSameMessages(jsm, await jetstreamManager(freshNc), "ORDERS")).toBe(MESSAGES);
    // The other streams were not touched.
    expect((await jsm.streams.info("KV_settings")).state.messages).toBeGreaterThan(0);
  }, 180_000);

  test("a damaged or cut-short backup is refused by its checksums and changes nothing", async () => {
    const jsm = await jetstreamManager(freshNc);
    await jsm.streams.delete("KV_settings");
    const before = (await jsm.streams.names().next()).sort();
    const damaged = join(dir.path, "damaged.tar");
    copyFileSync(backupFile, damaged);
    const fd = openSync(damaged, "r+");
    writeSync(fd, Buffer.from("garbage!"), 0, 8, 5_000); // inside the first stream's snapshot
    closeSync(fd);
    const r1 = await runUnibus(["restore", damaged, "--config", freshConfig]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/is damaged: stream \S+ \(streams\/0001\.snap\) does not match its SHA-256/);
    const cut = join(dir.path, "cut.tar");
    copyFileSync(backupFile, cut);
    truncateSync(cut, Math.floor(statSync(backupFile).size / 2));
    const r2 = await runUnibus(["restore", cut, "--config", freshConfig]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("is cut short");
    const inspect = await runUnibus(["backup", "inspect", cut]);
    expect(inspect.code).toBe(1);
    expect((await jsm.streams.names().next()).sort()).toEqual(before);
  }, 60_000);

  test("a restore that fails half-way deletes what it restored and leaves the node as it was", async () => {
    const jsm = await jetstreamManager(freshNc);
    for (const name of await jsm.streams.names().next()) await jsm.streams.delete(name);
    // A stream holding ORDERS's subjects makes ORDERS (the last in the file) fail after the buckets were restored.
    await jsm.streams.add({ name: "BLOCKER", subjects: ["orders.>"] });
    const r = await runUnibus(["restore", backupFile, "--config", freshConfig], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("restore failed");
    expect(r.stderr).toContain("rolled back: deleted KV_settings, deleted OBJ_files");
    expect((await jsm.streams.names().next()).sort()).toEqual(["BLOCKER"]);
  }, 150_000);

  test("a consumer with more replicas than the fresh node has servers is refused before anything changes", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "AUDIT", subjects: ["audit.>"], num_replicas: 3 });
    await jsm.consumers.add("AUDIT", { durable_name: "auditor", ack_policy: "explicit", num_replicas: 3 });
    const second = join(dir.path, "second.tar");
    const b = await runUnibus(["backup", "--config", cluster.nodes[0]!.config, "--out", second], { timeoutMs: 120_000 });
    expect(b.code).toBe(0);
    const freshJsm = await jetstreamManager(freshNc);
    const before = (await freshJsm.streams.names().next()).sort();
    const r = await runUnibus(["restore", second, "--config", freshConfig], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot restore consumer auditor of stream AUDIT (3 replicas) onto 1 JetStream server");
    expect(r.stderr).toContain("Nothing was changed");
    expect((await freshJsm.streams.names().next()).sort()).toEqual(before);
  }, 150_000);

  test("--extract writes the cluster files, the CA key and route secret only with the passphrase", async () => {
    const out = join(dir.path, "extracted");
    const without = await runUnibus(["restore", backupFile, "--extract", out]);
    expect(without.code).toBe(0);
    expect(without.stdout).toContain("skipped CA key (encrypted: add --passphrase-file)");
    expect(readFileSync(join(out, "ca.pem"), "utf8")).toBe(readFileSync(cluster.ca.cert, "utf8"));
    const wrongPass = join(dir.path, "wrong.txt");
    writeFileSync(wrongPass, "not the passphrase at all\n", { mode: 0o600 });
    const wrong = await runUnibus(["restore", backupFile, "--extract", join(dir.path, "x2"), "--passphrase-file", wrongPass]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("wrong passphrase");
    const r = await runUnibus(["restore", backupFile, "--extract", out, "--passphrase-file", passFile]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, "ca-key.pem"), "utf8")).toBe(readFileSync(cluster.ca.key, "utf8"));
    expect(readFileSync(join(out, "cluster.secret"), "utf8")).toBe(cluster.secret);
    expect(statSync(join(out, "ca-key.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, "node.toml"), "utf8")).toBe(readFileSync(cluster.nodes[1]!.config, "utf8"));
  }, 60_000);
});
