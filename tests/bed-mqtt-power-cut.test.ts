/**
 * MQTT under a power cut, on real hosts (Debian under systemd in nspawn
 * boxes), set up exactly as README says: pi-1 makes the cluster with
 * `init cluster … --mqtt-listen 0.0.0.0:1883` (README's MQTT section) and
 * installs it, `unibus user add` makes the devices' user once, pi-2 and pi-3
 * join with the printed `install.sh --join` line; nothing is edited on any box.
 * The devices are real mosquitto clients (mosquitto_pub, mosquitto_sub) on the
 * machine (the "PC"), over TLS verified against the cluster's CA.
 *
 * pi-1 loses power (SIGKILL of the box). Then: an MQTT connect to the
 * survivors succeeds, QoS 1 and QoS 2 publishes complete, a retained message
 * stored before the cut reaches a new subscriber, a will fires for a client
 * that is killed, and a persistent session made on pi-2 before the cut
 * resumes on pi-3 with everything published while it was away. No QoS 1 or 2
 * message may be lost. Devices retry the way real ones do (connect, SUBACK,
 * a publish whose acknowledgement never came); every retry is bounded and
 * counted, and the numbers are printed. About 2–3 minutes.
 */
import { afterAll, describe, expect } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IN_CI, ROOT } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";
import { run } from "./bed/exec.ts";

const NAMES = ["pi-1", "pi-2", "pi-3"];
const PI_ADDRESSES = ["192.168.1.11", "192.168.1.12", "192.168.1.13"];
const PASSWORD = "lamp-device-secret-42";
const MQTT_STREAMS = ["$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs", "$MQTT_qos2in", "$MQTT_out"];
/** ATTEMPTS bounds every retry a device makes (connect, SUBACK, an unacknowledged publish). */
const ATTEMPTS = 60;
const RETRY_PAUSE_MS = 500;

const mosquitto = Bun.which("mosquitto_sub") && Bun.which("mosquitto_pub");
const bedIt = bedTest();
const it: typeof bedIt = mosquitto
  ? bedIt
  : IN_CI
    ? (name, _fn, t) => bedIt(name, async () => { throw new Error("mosquitto_sub/mosquitto_pub are missing in CI: apt-get install mosquitto-clients"); }, t)
    : (name, fn, t) => {
      console.log("skipping the MQTT power-cut bed test: mosquitto-clients is not installed");
      return (require("bun:test") as typeof import("bun:test")).test.skip(name, fn, t);
    };

let bed: Bed | undefined;
let pc: string | undefined;
const spawned: Bun.Subprocess[] = [];
const numbers: Record<string, number | string> = {};
/** retried names every retry a device made after a refusal or a missing acknowledgement, with the reason. */
const retried: string[] = [];
// An interrupted run (afterAll does not run then) leaves no mosquitto client behind.
process.once("exit", () => {
  for (const p of spawned) p.kill("SIGKILL");
});

afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  await bed?.dispose();
  if (pc) rmSync(pc, { recursive: true, force: true });
  console.log(`bed MQTT power cut: ${JSON.stringify(numbers)}`);
  if (retried.length) console.log(`bed MQTT power cut, retries:\n  ${retried.join("\n  ")}`);
}, 120_000);

/** README's text: the three-Pi walkthrough and the MQTT section, where the commands below must be quoted. */
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** readme returns a command README quotes, for the bed: the boxes' addresses, the x86-64 executable, no sudo. */
function readme(command: string): string {
  expect(README).toContain(command);
  let out = command.replace(/^sudo /, "").replaceAll("unibus-linux-arm64", "unibus-linux-x64");
  PI_ADDRESSES.forEach((a, i) => (out = out.replaceAll(a, bed!.boxes[i]!.address)));
  return out;
}

const box = (name: string): Box => {
  const b = bed?.boxes[NAMES.indexOf(name)];
  if (!b) throw new Error(`no box ${name}: the lab was not set up`);
  return b;
};

/** tls are the options every device gives: the cluster's user, TLS verified against the CA (host name checked). */
function tls(b: Box): string[] {
  return ["-h", b.address, "-p", "1883", "--cafile", join(pc!, "homelab-ca.pem"), "-u", "app", "-P", PASSWORD, "-V", "mqttv311"];
}

/** pub runs mosquitto_pub once; exit 0 means CONNACK and, for QoS 1/2, PUBACK/PUBCOMP. */
function pub(b: Box, id: string, topic: string, message: string, qos: 0 | 1 | 2, extra: string[] = []) {
  return run(["mosquitto_pub", ...tls(b), "-i", id, "-t", topic, "-m", message, "-q", String(qos), ...extra], { timeoutMs: 20_000 });
}

/**
 * pubRetrying publishes the way a device does: when no acknowledgement came
 * (refused connect, closed connection, timeout) it publishes again, at most
 * ATTEMPTS times. Returns the retries.
 */
async function pubRetrying(b: Box, id: string, topic: string, message: string, qos: 0 | 1 | 2, extra: string[] = []): Promise<number> {
  let last = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const r = await pub(b, id, topic, message, qos, extra);
    if (r.code === 0) return attempt;
    last = `exit ${r.code}: ${r.stderr.trim() || r.stdout.trim() || "(no output)"}`;
    retried.push(`mosquitto_pub -q ${qos} -i ${id} to ${b.name}: ${last}`);
    await Bun.sleep(RETRY_PAUSE_MS);
  }
  throw new Error(`mosquitto_pub -q ${qos} to ${b.name} (${topic}) failed ${ATTEMPTS} times; last ${last}`);
}

/** Sub is a running mosquitto_sub (-d): its output so far, and what it printed as messages. */
class Sub {
  out = "";
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly done: Promise<void>;
  constructor(argv: string[]) {
    // stdbuf: mosquitto_sub buffers its debug lines (the SUBACK) when stdout is a pipe.
    this.proc = Bun.spawn(["stdbuf", "-oL", "mosquitto_sub", ...argv, "-d", "-F", "MSG %r %t %p"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    spawned.push(this.proc);
    const read = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) this.out += dec.decode(chunk, { stream: true });
    };
    this.done = Promise.all([read(this.proc.stdout), read(this.proc.stderr), this.proc.exited]).then(() => {});
  }
  /** messages are the lines mosquitto_sub printed for received messages: "retain topic payload". */
  get messages(): string[] {
    return this.out.split("\n").filter((l) => l.startsWith("MSG ")).map((l) => l.slice(4));
  }
  get subscribed(): boolean {
    // mosquitto_sub -d prints "Subscribed (mid: 1): QOS" per topic; 128 is a refusal.
    const granted = /Subscribed \(mid: \d+\): (\d+)/.exec(this.out)?.[1];
    return granted !== undefined && granted !== "128";
  }
  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
}

/**
 * subscribe starts mosquitto_sub and waits for its SUBACK granting the QoS;
 * a refused connect or SUBACK (the device sees the connection close) is
 * retried with a fresh client, at most ATTEMPTS times. Returns it and its retries.
 */
async function subscribe(b: Box, argv: string[]): Promise<{ sub: Sub; retries: number }> {
  let last = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const sub = new Sub([...tls(b), ...argv]);
    const end = Date.now() + 15_000;
    while (!sub.subscribed && !sub.exited && Date.now() < end) await Bun.sleep(50);
    if (sub.subscribed && !sub.exited) return { sub, retries: attempt };
    sub.proc.kill("SIGKILL");
    await sub.done;
    last = sub.out.trim().split("\n").slice(-3).join(" | ");
    // What the box's nats-server said about it (a SUBACK refusal is a consumer it could not make).
    const said = (await b.sh("journalctl -u unibus -o cat --no-pager --since -20s | grep -i -E 'mqtt|consumer' | tail -2").catch(() => undefined))?.stdout.trim().replaceAll("\n", " | ");
    retried.push(`mosquitto_sub ${argv.join(" ")} on ${b.name}: ${last || "(no output)"}${said ? `; its log: ${said}` : ""}`);
    await Bun.sleep(RETRY_PAUSE_MS);
  }
  throw new Error(`mosquitto_sub on ${b.name} (${argv.join(" ")}) got no SUBACK in ${ATTEMPTS} attempts; last: ${last}`);
}

/** step prints how far the journey got (a slow machine can make setup take minutes). */
function step(what: string, t0: number): void {
  console.log(`bed MQTT power cut: ${what} at ${Math.round((performance.now() - t0) / 1000)} s`);
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/** jsz reads a box's nats monitoring on its loopback (bash's /dev/tcp: the box has no curl); undefined when it does not answer. */
async function jsz(b: Box, query: string): Promise<any> {
  const r = await b.sh(String.raw`exec 3<>/dev/tcp/127.0.0.1/8222 && printf 'GET /jsz?${query} HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && sed '1,/^\r$/d' <&3`, { timeoutMs: 20_000 });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

/** streamsOf lists the MQTT streams a box reports (every account), with what the box knows of them. */
async function streamsOf(b: Box): Promise<any[]> {
  const j = await jsz(b, "accounts=true&streams=true&consumers=true&config=true");
  return (j?.account_details ?? []).flatMap((d: any) => d.stream_detail ?? []).filter((s: any) => MQTT_STREAMS.includes(s.name));
}

/** healthy polls `unibus status` (README step 8) on the boxes until all exit 0. */
async function healthy(boxes: Box[], timeoutMs = 180_000): Promise<number> {
  const t0 = performance.now();
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rs = await Promise.all(boxes.map((b) => b.sh("unibus status")));
    if (rs.every((r) => r.code === 0)) return Math.round(performance.now() - t0);
    if (Date.now() > end) throw new Error(`not healthy after ${timeoutMs} ms:\n${rs.map((r, i) => `${boxes[i]!.name}: exit ${r.code}\n${r.stdout}${r.stderr}`).join("\n")}`);
    await Bun.sleep(500);
  }
}

describe("MQTT under a power cut (README's three Pis with --mqtt-listen, mosquitto clients on the PC)", () => {
  it("pi-1 loses power: devices connect to pi-2 and pi-3, QoS 1 and 2 complete with nothing lost, retained messages and wills work, and pi-2's persistent session resumes on pi-3 with what it missed", async () => {
    const t0 = performance.now();
    bed = await Bed.create(3, NAMES);
    const [pi1, pi2, pi3] = [box("pi-1"), box("pi-2"), box("pi-3")];
    pc = mkdtempSync(join(tmpdir(), "unibus-bed-mqtt-pc-"));
    for (const b of bed.boxes) copyUnibus(b);

    // README step 4 with the MQTT section's flag: the cluster on pi-1, its client and MQTT ports on the network.
    expect(README).toContain("add `--mqtt-listen 0.0.0.0:1883` to step 4's\n`init cluster`");
    const step4 = readme("./unibus-linux-arm64 init cluster --name homelab --node pi-1=192.168.1.11 --client-listen 0.0.0.0:4222 --out homelab/")
      .replace(" --out homelab/", " --mqtt-listen 0.0.0.0:1883 --out homelab/");
    const init = await pi1.sh(`cd ${BOX_SRC} && ${step4}`);
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: "" });
    const printed = /sudo \.\/install\.sh --join (\S+) --token (UB1-\S+)/.exec(init.stdout);
    expect(printed?.[1]).toBe(`${pi1.address}:6223`);
    const joinLine = readme("sudo ./install.sh --join 192.168.1.11:6223 --token UB1-")
      .replace(`${pi1.address}:6223 --token UB1-`, `${printed![1]} --token ${printed![2]}`);
    // Step 5, 6 (the devices' user, once), 7 (the printed line on pi-2 and pi-3).
    const r1 = await pi1.sh(`cd ${BOX_SRC} && ${readme("sudo ./install.sh --config homelab/pi-1.toml")}`, { timeoutMs: 400_000 });
    expect({ box: "pi-1", code: r1.code }).toEqual({ box: "pi-1", code: 0 });
    step("pi-1 installed", t0);
    const add = readme(`printf '%s' "$APP_PASSWORD" | sudo unibus user add app`).replace("sudo unibus", "unibus");
    expect((await pi1.sh(`APP_PASSWORD='${PASSWORD}' && ${add}`)).code).toBe(0);
    for (const b of [pi2, pi3]) {
      const r = await b.sh(`cd ${BOX_SRC} && ${joinLine}`, { timeoutMs: 400_000 });
      expect({ box: b.name, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ box: b.name, code: 0, stderr: "" });
      // The MQTT listener came over with the join: no box is edited.
      expect(await b.mustSh("grep -A3 '^\\[mqtt\\]' /etc/unibus/unibus.toml")).toContain('listen = "0.0.0.0:1883"');
      step(`${b.name} joined`, t0);
    }
    numbers.healthy_after_joins_ms = await healthy(bed.boxes);
    readme("scp pi@192.168.1.11:homelab/certs/ca.pem homelab-ca.pem");
    copyFileSync(pi1.path(`${BOX_SRC}/homelab/certs/ca.pem`), join(pc, "homelab-ca.pem"));
    numbers.setup_ms = Math.round(performance.now() - t0);
    step("healthy", t0);

    // The first device makes MQTT's streams; a persistent subscriber (clean session off) on pi-2.
    const lamp = await subscribe(pi2, ["-c", "-i", "lamp-1", "-q", "1", "-t", "home/lamp/state"]);
    let retries = lamp.retries;
    await waitUntil("MQTT's five streams with three replicas", async () => {
      const ss = await streamsOf(pi1);
      return MQTT_STREAMS.every((n) => ss.some((s) => s.name === n && s.config?.num_replicas === 3));
    }, 90_000, 500);
    retries += await pubRetrying(pi1, "switch-1", "home/lamp/state", "before", 1);
    await waitUntil("lamp-1 to get the message sent before the cut", () => lamp.sub.messages.includes("0 home/lamp/state before"), 20_000);
    // A retained message, stored before the cut.
    retries += await pubRetrying(pi3, "hall-sensor", "home/hall/state", "on", 1, ["-r"]);

    // Wait until every replica of MQTT's streams and of their replicated consumers is current (only a leader knows), so the cut tests failover and not a catch-up.
    let seen = "";
    const ledBy = new Map<string, string>();
    await waitUntil("MQTT's replicas current", async () => {
      const led = new Map<string, boolean>();
      ledBy.clear();
      for (const b of bed!.boxes) {
        for (const s of await streamsOf(b)) {
          const current = (c: any) => c?.leader === b.name && (c.replicas ?? []).length === 2 && c.replicas.every((p: any) => p.current);
          if (s.cluster?.leader === b.name) {
            led.set(s.name, current(s.cluster));
            ledBy.set(s.name, b.name);
          }
          // Each server keeps its own one-replica consumer of the retained messages: it goes with its server.
          for (const c of s.consumer_detail ?? []) {
            if (c.cluster?.leader !== b.name || (c.cluster.replicas ?? []).length === 0) continue;
            led.set(`${s.name}>${c.name}`, current(c.cluster));
            ledBy.set(`${s.name}>${c.name}`, b.name);
          }
        }
      }
      seen = JSON.stringify([...led]);
      return MQTT_STREAMS.every((n) => led.get(n) === true) && [...led.values()].every(Boolean);
    }, 90_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen}`);
    });
    // What pi-1 led when it lost power (the groups whose leader nats must elect again), and the meta leader.
    numbers.led_by_pi1_at_cut = [...ledBy].filter(([, b]) => b === "pi-1").map(([g]) => g).join(" ") || "none";
    numbers.meta_leader_at_cut = (await jsz(pi2, ""))?.meta_cluster?.leader ?? "?";
    const replicas = Object.fromEntries((await streamsOf(pi2)).map((s) => [s.name, s.config?.num_replicas]));
    expect(replicas).toEqual(Object.fromEntries(MQTT_STREAMS.map((n) => [n, 3])));

    step("MQTT replicas current; cutting pi-1's power", t0);
    // The power cut. lamp-1 goes away too (a device losing its link: no DISCONNECT), leaving its session.
    await pi1.powerCut();
    const cutAt = performance.now();
    lamp.sub.proc.kill("SIGKILL");
    await lamp.sub.done;

    // Time until an MQTT connect succeeds (CONNACK accepted: mosquitto_pub QoS 0 exits 0), a device retrying.
    let connectAttempts = 0;
    for (;;) {
      connectAttempts++;
      const r = await pub(pi2, "probe", "probe/x", "x", 0);
      if (r.code === 0) break;
      retried.push(`connect to pi-2 after the cut: exit ${r.code}: ${r.stderr.trim()}`);
      if (connectAttempts >= ATTEMPTS) throw new Error(`no MQTT connect to pi-2 in ${ATTEMPTS} attempts after the cut: ${r.stderr}`);
      await Bun.sleep(RETRY_PAUSE_MS);
    }
    numbers.cut_to_connect_ms = Math.round(performance.now() - cutAt);
    numbers.connect_attempts = connectAttempts;

    // While lamp-1 is away: QoS 1 to pi-3 and pi-2 alternately; then QoS 2 to a new subscriber on pi-3.
    const N1 = 20;
    for (let i = 0; i < N1; i++) {
      retries += await pubRetrying(i % 2 ? pi2 : pi3, `switch-${i}`, "home/lamp/state", `m${i}`, 1);
      if (i === 0) numbers.cut_to_first_qos1_ack_ms = Math.round(performance.now() - cutAt);
    }
    const q2 = await subscribe(pi3, ["-i", "q2-sub", "-q", "2", "-t", "q2/test"]);
    retries += q2.retries;
    numbers.cut_to_first_qos2_suback_ms = Math.round(performance.now() - cutAt);
    const N2 = 10;
    for (let i = 0; i < N2; i++) retries += await pubRetrying(i % 2 ? pi3 : pi2, `q2-pub-${i}`, "q2/test", `q${i}`, 2);
    await waitUntil(`the ${N2} QoS 2 messages`, () => new Set(q2.sub.messages).size >= N2, 30_000);
    await Bun.sleep(500);

    // A retained message stored before the cut reaches a new subscriber on pi-2.
    const display = await subscribe(pi2, ["-i", "hall-display", "-q", "1", "-t", "home/hall/state"]);
    retries += display.retries;
    await waitUntil("the retained message", () => display.sub.messages.length > 0, 20_000);
    expect(display.sub.messages[0]).toBe("1 home/hall/state on");

    // A will: plug-1 on pi-3 is killed (no DISCONNECT); a watcher on pi-2 hears its will.
    const watcher = await subscribe(pi2, ["-i", "watcher", "-q", "1", "-t", "home/plug/status"]);
    retries += watcher.retries;
    const plug = await subscribe(pi3, ["-i", "plug-1", "-q", "1", "-t", "home/plug/cmd", "--will-topic", "home/plug/status", "--will-payload", "offline", "--will-qos", "1"]);
    retries += plug.retries;
    plug.sub.proc.kill("SIGKILL");
    await waitUntil("plug-1's will", () => watcher.sub.messages.length > 0, 30_000);
    expect(watcher.sub.messages[0]).toBe("0 home/plug/status offline");

    // lamp-1 resumes on pi-3 (same id, clean session off) and gets what was published while it was away.
    const resumedAt = performance.now();
    const back = await subscribe(pi3, ["-c", "-i", "lamp-1", "-q", "1", "-t", "home/lamp/state"]);
    retries += back.retries;
    const want = Array.from({ length: N1 }, (_, i) => `0 home/lamp/state m${i}`);
    await waitUntil(`lamp-1 to get the ${N1} messages published while it was away`, () => want.every((m) => back.sub.messages.includes(m)), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; got ${JSON.stringify(back.sub.messages)}`);
    });
    numbers.session_resume_ms = Math.round(performance.now() - resumedAt);

    const q1Got = new Set(back.sub.messages.filter((m) => want.includes(m))).size;
    const q2Got = new Set(q2.sub.messages).size;
    numbers.qos1_delivered_of_published = `${q1Got}/${N1}`;
    numbers.qos1_duplicates = back.sub.messages.length - new Set(back.sub.messages).size;
    numbers.qos2_delivered_of_published = `${q2Got}/${N2}`;
    numbers.qos2_received_lines = q2.sub.messages.length;
    numbers.retries = retries;
    numbers.wall_ms = Math.round(performance.now() - t0);
    expect(q1Got).toBe(N1);
    expect(q2.sub.messages.sort()).toEqual(Array.from({ length: N2 }, (_, i) => `0 q2/test q${i}`).sort()); // exactly once
    for (const s of [q2, display, watcher, back]) s.sub.proc.kill("SIGTERM");
  }, 900_000);
});
