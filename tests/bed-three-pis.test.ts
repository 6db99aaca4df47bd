/**
 * Three real hosts, set up the way README's "three Raspberry Pis" walkthrough
 * says (x86-64 Debian boxes stand in for the Pis), typing the commands quoted
 * there: `unibus init cluster` on pi-1 (the only box that ever holds the CA
 * key), `install.sh --config` on pi-1, the printed `install.sh --join` line
 * on pi-2 and pi-3, `unibus user add` typed once (no file edited on any box:
 * the joined Pis take the client port over at join and the user from the
 * cluster, and it signs in on every Pi), `unibus status`, and a NATS client
 * on the LAN using an R3 stream over TLS verified against the cluster's CA. Then the days after: a rolling upgrade under a client that
 * never stops writing, and power cuts. Every acknowledged write must survive
 * all of it.
 */
import { afterAll, describe, expect } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { BIN_X64, ROOT } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";

const it = bedTest();
const NAMES = ["pi-1", "pi-2", "pi-3"];
const STREAM = "LAB";
const PASSWORD = "correct-horse-battery-staple";

let bed: Bed | undefined;
let pc: string | undefined; // the "PC": where the LAN client runs
let nc: NatsConnection | undefined;
let writer: Writer | undefined;
const report: string[] = [];

afterAll(async () => {
  if (writer) await writer.stop().catch(() => {});
  await nc?.close().catch(() => {});
  await bed?.dispose();
  if (pc) rmSync(pc, { recursive: true, force: true });
  if (report.length) console.log(`bed three-box journeys:\n  ${report.join("\n  ")}`);
}, 120_000); // stopping three booted boxes takes longer than bun's 5 s hook default on a loaded machine

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

  /** more resolves once `count` more writes were acknowledged (instead of a fixed pause: the writer is known to be writing). */
  async more(count: number, timeoutMs = 60_000): Promise<void> {
    const want = this.acked.length + count;
    const until = Date.now() + timeoutMs;
    while (this.acked.length < want) {
      if (Date.now() > until) throw new Error(`the ${this.prefix} writer got ${this.acked.length - want + count} of ${count} acknowledgements in ${timeoutMs} ms`);
      await Bun.sleep(50);
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

/** WALKTHROUGH is README's "Three Raspberry Pis" section: the commands below must be quoted there. */
const WALKTHROUGH = (() => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## Three Raspberry Pis");
  return readme.slice(start, readme.indexOf("\n## ", start + 1));
})();
/** PI_ADDRESSES are the Pis' addresses in README, in the order of NAMES. */
const PI_ADDRESSES = ["192.168.1.11", "192.168.1.12", "192.168.1.13"];

/**
 * readme returns a command as README's walkthrough quotes it, translated for
 * the bed: the boxes' addresses for the Pis', the x86-64 executable for the
 * arm64 one, and no sudo (the bed's shell is root's). It fails when README
 * does not quote the command, so the walkthrough and this test move together.
 */
function readme(command: string): string {
  expect(WALKTHROUGH).toContain(command);
  let out = command.replace(/^sudo /, "").replaceAll("unibus-linux-arm64", "unibus-linux-x64");
  PI_ADDRESSES.forEach((a, i) => (out = out.replaceAll(a, bed!.boxes[i]!.address)));
  return out;
}

/** signsIn tells whether a box admits a LAN client signing in as user (TLS verified against the cluster's CA). */
async function signsIn(address: string, caFile: string, user: string, pass: string): Promise<boolean> {
  try {
    const c = await connect({ servers: `tls://${address}:4222`, tls: { caFile }, user, pass, timeout: 5_000, reconnect: false });
    await c.flush();
    await c.close();
    return true;
  } catch {
    return false;
  }
}

describe("three Raspberry Pis (README walkthrough, on the bed)", () => {
  it("pi-1 makes the cluster and installs it; pi-2 and pi-3 join with the printed line: a healthy cluster, the CA key on pi-1 alone", async () => {
    const t0 = performance.now();
    bed = await Bed.create(3, NAMES);
    const [pi1, pi2, pi3] = bed.boxes as [Box, Box, Box];
    pc = mkdtempSync(join(tmpdir(), "unibus-bed-pc-"));

    // 2. The executable and install.sh on each Pi.
    readme("scp dist/unibus-linux-arm64 install.sh pi@192.168.1.11:");
    for (const b of bed.boxes) copyUnibus(b);

    // 4. The cluster is made on pi-1, its client port on the network; it prints the line that joins the others.
    const init = await pi1.sh(`cd ${BOX_SRC} && ${readme("./unibus-linux-arm64 init cluster --name homelab --node pi-1=192.168.1.11 --client-listen 0.0.0.0:4222 --out homelab/")}`);
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: "" });
    const printed = /sudo \.\/install\.sh --join (\S+) --token (UB1-\S+)/.exec(init.stdout);
    expect(printed?.[1]).toBe(`${pi1.address}:6223`);
    const joinLine = readme("sudo ./install.sh --join 192.168.1.11:6223 --token UB1-")
      .replace(`${pi1.address}:6223 --token UB1-`, `${printed![1]} --token ${printed![2]}`);

    // 5. Install on pi-1.
    const installMs: string[] = [];
    let started = performance.now();
    const r1 = await pi1.sh(`cd ${BOX_SRC} && ${readme("sudo ./install.sh --config homelab/pi-1.toml")}`, { timeoutMs: 400_000 });
    installMs.push(`pi-1 install.sh --config ${Math.round(performance.now() - started)} ms`);
    expect({ box: "pi-1", code: r1.code, stderr: complaints(r1.stderr) }).toEqual({ box: "pi-1", code: 0, stderr: "" });

    // 6. LAN clients: one user for the whole cluster, typed once (on pi-1; any member would do).
    const add = readme(`printf '%s' "$APP_PASSWORD" | sudo unibus user add app`).replace("sudo unibus", "unibus");
    const added = await pi1.sh(`APP_PASSWORD='${PASSWORD}' && ${add}`);
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: "" });
    expect(added.stdout).toContain("applied on 1 of 1 members");

    // 7. pi-2 and pi-3 join with the printed line; nothing is edited on any box.
    for (const b of [pi2, pi3]) {
      started = performance.now();
      const r = await b.sh(`cd ${BOX_SRC} && ${joinLine}`, { timeoutMs: 400_000 });
      installMs.push(`${b.name} install.sh --join ${Math.round(performance.now() - started)} ms`);
      expect(r.stderr).toContain(`asking to join as "${b.name}"`);
      expect({ box: b.name, code: r.code }).toEqual({ box: b.name, code: 0 });
      expect(await b.mustSh("grep '^listen = \"0.0.0.0:4222\"' /etc/unibus/unibus.toml")).toContain("0.0.0.0:4222");
      // The join brought the cluster's users along: the service user's own 0600 copy, a hash and no password.
      expect((await b.mustSh("stat -c '%a %U' /var/lib/unibus/cluster-access.json")).trim()).toBe("600 unibus");
      const copy = await b.mustSh("cat /var/lib/unibus/cluster-access.json");
      expect(copy).toContain('"name": "app"');
      expect(copy).not.toContain(PASSWORD);
    }
    expect(WALKTHROUGH).not.toContain("systemctl restart unibus");
    const formedMs = await healthy(bed.boxes);
    for (const b of bed.boxes) {
      expect((await b.sh("systemctl is-active unibus; systemctl is-enabled unibus")).stdout).toBe("active\nenabled\n");
    }
    expect(formedMs).toBeLessThan(60_000);
    // Only pi-1 ever had the CA key.
    expect((await pi1.sh("test -f /etc/unibus/certs/ca-key.pem && echo yes")).stdout.trim()).toBe("yes");
    for (const b of [pi2, pi3]) expect({ box: b.name, key: (await b.sh("find / -xdev -name 'ca-key*' 2>/dev/null")).stdout.trim() }).toEqual({ box: b.name, key: "" });
    // 8. The PC takes the CA certificate from pi-1 for its client.
    readme("scp pi@192.168.1.11:homelab/certs/ca.pem homelab-ca.pem");
    copyFileSync(pi1.path(`${BOX_SRC}/homelab/certs/ca.pem`), join(pc, "homelab-ca.pem"));
    // The user added once on pi-1 signs in on every Pi (the joined ones took it from the cluster).
    const usersT0 = performance.now();
    for (const b of bed.boxes) {
      const until = Date.now() + 60_000;
      while (!(await signsIn(b.address, join(pc, "homelab-ca.pem"), "app", PASSWORD))) {
        if (Date.now() > until) throw new Error(`${b.name} does not admit the cluster's user app 60 s after it was healthy:\n${(await b.sh("journalctl -u unibus --no-pager | tail -30")).stdout}`);
        await Bun.sleep(250);
      }
      expect({ box: b.name, wrong: await signsIn(b.address, join(pc, "homelab-ca.pem"), "app", "not-the-password") }).toEqual({ box: b.name, wrong: false });
    }
    report.push(`user app (added once on pi-1 before the joins) signs in on all three (checked one after the other, with a wrong password too) within ${Math.round(performance.now() - usersT0)} ms of healthy`);
    report.push(`cluster: ${installMs.join(", ")}; healthy ${formedMs} ms after the last join; journey ${Math.round(performance.now() - t0)} ms`);
  }, 900_000);

  it("a client on the LAN uses an R3 stream over TLS, verified against the cluster's CA", async () => {
    if (!bed || !pc) throw new Error("the cluster was not set up");
    const t0 = performance.now();
    const servers = bed.boxes.map((b) => `tls://${b.address}:4222`);
    nc = await connect({ servers, tls: { caFile: join(pc, "homelab-ca.pem") }, user: "app", pass: PASSWORD, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 10_000 });
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
    await writer.more(20);
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
    await writer.more(20);
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
    await writer.more(20);
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
    await all.more(30);
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
