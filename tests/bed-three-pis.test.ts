/**
 * Three real hosts, set up the way README's "three Raspberry Pis" walkthrough
 * says (x86-64 Debian boxes stand in for the Pis): `unibus init cluster` on
 * the PC, one folder and install.sh copied to each box, `install.sh --config`
 * on each, `unibus status`, and a NATS client on the LAN using an R3 stream
 * over TLS verified against the cluster's CA. Then the days after: a rolling
 * upgrade under a client that never stops writing, and power cuts. Every
 * acknowledged write must survive all of it.
 */
import { afterAll, describe, expect } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { BIN_X64 } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";

const it = bedTest();
const NAMES = ["pi-1", "pi-2", "pi-3"];
const STREAM = "LAB";
const PASSWORD = "correct-horse-battery-staple";

let bed: Bed | undefined;
let pc: string | undefined; // the "PC": where init cluster runs and the CA stays
let nc: NatsConnection | undefined;
let writer: Writer | undefined;
const report: string[] = [];

afterAll(async () => {
  if (writer) await writer.stop().catch(() => {});
  await nc?.close().catch(() => {});
  await bed?.dispose();
  if (pc) rmSync(pc, { recursive: true, force: true });
  if (report.length) console.log(`bed three-box journeys:\n  ${report.join("\n  ")}`);
});

/** unibusOnPc runs the executable on the machine, the way a user runs it on a PC. */
function unibusOnPc(args: string[], stdin?: string): string {
  const proc = Bun.spawnSync([BIN_X64, ...args], { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin) });
  if (proc.exitCode !== 0) throw new Error(`unibus ${args.join(" ")} exited ${proc.exitCode}: ${proc.stderr.toString()}`);
  return proc.stdout.toString();
}

/**
 * complaints is a command's stderr without the one line systemctl status
 * prints inside an nspawn box on a machine with a hybrid cgroup tree (the bed's, not a Pi's).
 */
function complaints(stderr: string): string {
  return stderr.split("\n").filter((l) => l && !l.startsWith("Failed to dump process list for 'unibus.service'")).join("\n");
}

/** healthy polls `unibus status` (no flags, as README says) on every box until all exit 0; returns the time it took. */
async function healthy(boxes: Box[], timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const until = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const results = await Promise.all(boxes.map((b) => b.sh("unibus status")));
    if (results.every((r) => r.code === 0)) return Math.round(performance.now() - t0);
    last = results.map((r, i) => `${boxes[i]!.name}: exit ${r.code}\n${r.stdout}${r.stderr}`).join("\n");
    if (Date.now() > until) throw new Error(`the cluster is not healthy after ${timeoutMs} ms:\n${last}`);
    await Bun.sleep(250);
  }
}

/**
 * Writer is the LAN client that writes without pause: each message is
 * published until acknowledged (the same message id, so a retry after a lost
 * ack is deduplicated), then the next. It remembers every acknowledged one.
 */
class Writer {
  acked: number[] = [];
  retries = 0;
  longestWaitMs = 0;
  #stop = false;
  #done: Promise<void>;

  constructor(js: JetStreamClient, private readonly prefix: string) {
    this.#done = this.#run(js);
  }

  async #run(js: JetStreamClient): Promise<void> {
    for (let i = 0; !this.#stop; i++) {
      const t0 = performance.now();
      for (;;) {
        try {
          await js.publish(`${STREAM}.${this.prefix}`, `${this.prefix}-${i}`, { msgID: `${this.prefix}-${i}`, timeout: 3_000 });
          break;
        } catch {
          this.retries++;
          if (this.#stop) return;
          await Bun.sleep(50);
        }
      }
      this.acked.push(i);
      this.longestWaitMs = Math.max(this.longestWaitMs, Math.round(performance.now() - t0));
    }
  }

  /** stop lets the message in flight finish (or be given up) and ends the loop. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** storedPayloads reads the whole stream back through an ordered consumer. */
async function storedPayloads(js: JetStreamClient): Promise<Set<string>> {
  const jsm = await jetstreamManager(nc!);
  const total = (await jsm.streams.info(STREAM)).state.messages;
  const seen = new Set<string>();
  if (total === 0) return seen;
  const consumer = await js.consumers.get(STREAM);
  const messages = await consumer.consume();
  for await (const m of messages) {
    seen.add(m.string());
    if (m.info.pending === 0) break;
  }
  return seen;
}

/** lost lists the acknowledged writes of one writer that are not in the stream. */
function lost(w: Writer, prefix: string, stored: Set<string>): string[] {
  return w.acked.map((i) => `${prefix}-${i}`).filter((p) => !stored.has(p));
}

/** withRetry repeats a JetStream call while a cluster settles (a meta leader is being elected). */
async function withRetry<T>(call: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > until) throw err;
      await Bun.sleep(250);
    }
  }
}

describe("three Raspberry Pis (README walkthrough, on the bed)", () => {
  it("init cluster on the PC, install.sh --config on each box: a healthy cluster within seconds", async () => {
    const t0 = performance.now();
    bed = await Bed.create(3, NAMES);
    const boxes = bed.boxes;
    pc = mkdtempSync(join(tmpdir(), "unibus-bed-pc-"));

    // On the PC: one command makes the CA, the route secret and a config per box.
    const nodes = boxes.flatMap((b) => ["--node", `${b.name}=${b.address}`]);
    const printed = unibusOnPc(["init", "cluster", "--name", "homelab", ...nodes, "--out", join(pc, "homelab")]);
    expect(printed).toContain("/etc/unibus/unibus.toml");
    // Let LAN clients in: a password user, then the client port on the network (README step 2).
    const hash = unibusOnPc(["passwd"], PASSWORD).trim();
    for (const b of boxes) {
      const file = join(pc, "homelab", `${b.name}.toml`);
      const text = readFileSync(file, "utf8").replace(/^listen = "127\.0\.0\.1:4222"$/m, 'listen = "0.0.0.0:4222"');
      expect(text).toContain('listen = "0.0.0.0:4222"');
      writeFileSync(file, `${text}\n[[client.users]]\nuser = "app"\npassword_hash = "${hash}"\n`);
    }

    // Copy the folder, the executable and install.sh to each box; install there, one box after another.
    const installMs: string[] = [];
    for (const b of boxes) {
      copyUnibus(b);
      cpSync(join(pc, "homelab"), b.path(`${BOX_SRC}/homelab`), { recursive: true });
      const started = performance.now();
      const r = await b.sh(`cd ${BOX_SRC} && ./install.sh --binary ./unibus-linux-x64 --config homelab/${b.name}.toml`, { timeoutMs: 400_000 });
      installMs.push(`${b.name} ${Math.round(performance.now() - started)} ms`);
      expect({ box: b.name, code: r.code, stderr: complaints(r.stderr) }).toEqual({ box: b.name, code: 0, stderr: "" });
    }
    const formedMs = await healthy(boxes);
    for (const b of boxes) {
      expect((await b.sh("systemctl is-active unibus; systemctl is-enabled unibus")).stdout).toBe("active\nenabled\n");
    }
    expect(formedMs).toBeLessThan(60_000);
    report.push(`cluster: installs ${installMs.join(", ")}; healthy ${formedMs} ms after the last install; journey ${Math.round(performance.now() - t0)} ms`);
  }, 900_000);

  it("a client on the LAN uses an R3 stream over TLS, verified against the cluster's CA", async () => {
    if (!bed || !pc) throw new Error("the cluster was not set up");
    const t0 = performance.now();
    const servers = bed.boxes.map((b) => `tls://${b.address}:4222`);
    nc = await connect({ servers, tls: { caFile: join(pc, "homelab", "certs", "ca.pem") }, user: "app", pass: PASSWORD, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 10_000 });
    const jsm = await jetstreamManager(nc);
    await withRetry(() => jsm.streams.add({ name: STREAM, subjects: [`${STREAM}.>`], num_replicas: 3 }));
    const js = jetstream(nc, { timeout: 5_000 });
    for (let i = 0; i < 10; i++) await js.publish(`${STREAM}.hello`, `hello-${i}`);
    const info = await jsm.streams.info(STREAM);
    expect(info.state.messages).toBe(10);
    expect(info.cluster?.replicas?.length).toBe(2); // a leader and two replicas: R3 on three boxes
    expect(new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)])).toEqual(new Set(NAMES));
    // The server proved itself with a certificate the CA issued (a wrong CA fails the handshake).
    const wrongCa = join(pc, "wrong-ca");
    unibusOnPc(["ca", "create", "--out", wrongCa]);
    const refused = await connect({ servers: servers[0], tls: { caFile: join(wrongCa, "ca.pem") }, user: "app", pass: PASSWORD, timeout: 5_000, reconnect: false }).then((c) => c.close().then(() => "connected"), (err: Error) => err.message);
    expect(refused).not.toBe("connected");
    report.push(`LAN client: R3 stream over TLS, 10 acknowledged writes in ${Math.round(performance.now() - t0)} ms`);
  }, 300_000);

  it("rolling upgrade with install.sh --upgrade, box by box, while a client writes without pause: no acknowledged write lost", async () => {
    if (!bed || !nc) throw new Error("the cluster was not set up");
    const t0 = performance.now();
    const js = jetstream(nc, { timeout: 5_000 });
    // A new release: the same program with different bytes, so install.sh sees a new binary and restarts.
    const release = join(pc!, "unibus-linux-x64.next");
    copyFileSync(BIN_X64, release);
    appendFileSync(release, "\n# next release\n");
    for (const b of bed.boxes) copyFileSync(release, b.path(`${BOX_SRC}/unibus-linux-x64.next`));

    writer = new Writer(js, "upgrade");
    await Bun.sleep(2_000);
    const perBox: string[] = [];
    for (const b of bed.boxes) {
      const pidBefore = (await b.mustSh("systemctl show -p MainPID --value unibus")).trim();
      const started = performance.now();
      const ackedBefore = writer.acked.length;
      const r = await b.sh(`cd ${BOX_SRC} && chmod 755 unibus-linux-x64.next && ./install.sh --upgrade --binary ./unibus-linux-x64.next`, { timeoutMs: 400_000 });
      expect({ box: b.name, code: r.code, stderr: complaints(r.stderr) }).toEqual({ box: b.name, code: 0, stderr: "" });
      expect(r.stdout).toContain("restarting unibus.service");
      const installedMs = Math.round(performance.now() - started);
      await healthy(bed.boxes);
      const totalMs = Math.round(performance.now() - started);
      expect((await b.mustSh("systemctl show -p MainPID --value unibus")).trim()).not.toBe(pidBefore);
      expect((await b.mustSh(`cmp /usr/local/bin/unibus ${BOX_SRC}/unibus-linux-x64.next && echo same`)).trim()).toBe("same");
      perBox.push(`${b.name} ${installedMs} ms to restart, ${totalMs} ms to healthy (${writer.acked.length - ackedBefore} acks meanwhile)`);
    }
    await Bun.sleep(2_000);
    await writer.stop();
    const w = writer;
    writer = undefined;
    const stored = await storedPayloads(js);
    expect(lost(w, "upgrade", stored)).toEqual([]);
    expect(w.acked.length).toBeGreaterThan(0);
    report.push(`rolling upgrade: ${perBox.join("; ")}; ${w.acked.length} acknowledged writes, 0 lost, ${w.retries} retries, longest wait for one ack ${w.longestWaitMs} ms; journey ${Math.round(performance.now() - t0)} ms`);
  }, 900_000);

  it("power cut: one box, then all three; they boot, unibus starts by itself, every acknowledged write is there", async () => {
    if (!bed || !nc) throw new Error("the cluster was not set up");
    const t0 = performance.now();
    const js = jetstream(nc, { timeout: 5_000 });
    const [first] = bed.boxes;

    // One box loses power while the client writes; the other two keep the R3 stream writable.
    writer = new Writer(js, "cut1");
    await Bun.sleep(2_000);
    await first!.powerCut();
    const cutAt = performance.now();
    const duringCut = writer.acked.length;
    // Still writing on two boxes, once they notice the third is gone (its links die without a reset:
    // route pings, 5 s × 3) and the stream has a leader among them.
    while (writer.acked.length <= duringCut + 10) {
      if (performance.now() - cutAt > 90_000) throw new Error(`no writes acknowledged in the 90 s after ${first!.name} lost power`);
      await Bun.sleep(100);
    }
    const resumedMs = Math.round(performance.now() - cutAt);
    await first!.start();
    expect((await first!.sh("systemctl is-active unibus")).stdout.trim()).toBe("active");
    const oneBackMs = await healthy(bed.boxes);
    await writer.stop();
    const one = writer;
    writer = undefined;

    // All three lose power at once, right after acknowledging writes.
    const all = new Writer(js, "cut3");
    writer = all;
    await Bun.sleep(3_000);
    await Promise.all(bed.boxes.map((b) => b.powerCut()));
    await all.stop();
    writer = undefined;
    const bootStart = performance.now();
    await Promise.all(bed.boxes.map((b) => b.start()));
    for (const b of bed.boxes) expect({ box: b.name, active: (await b.sh("systemctl is-active unibus")).stdout.trim() }).toEqual({ box: b.name, active: "active" });
    await healthy(bed.boxes);
    const allBackMs = Math.round(performance.now() - bootStart);

    const stored = await withRetry(() => storedPayloads(js));
    expect(lost(one, "cut1", stored)).toEqual([]);
    expect(lost(all, "cut3", stored)).toEqual([]);
    expect(one.acked.length).toBeGreaterThan(0);
    expect(all.acked.length).toBeGreaterThan(0);
    report.push(`power cut: one box (${one.acked.length} acknowledged writes, 0 lost; writes resumed ${resumedMs} ms after the cut; healthy ${oneBackMs} ms after its boot), then all three (${all.acked.length} acknowledged writes, 0 lost, booted and healthy in ${allBackMs} ms); journey ${Math.round(performance.now() - t0)} ms`);
  }, 900_000);
});
