/**
 * _pubsub-client.ts is the load generator, run as its own process so it
 * never shares an event loop with the bench driver. It prints one JSON line.
 *
 *   bun bench/_pubsub-client.ts core --port P --size 16 --count N
 *       one publisher and one subscriber connection on subject bench.core;
 *       rate = messages received by the subscriber / (last receive − first publish).
 *   bun bench/_pubsub-client.ts js --port P --size 128 --count N [--window W]
 *       creates stream BENCH (file, R1), publishes with a reply subject and
 *       waits for every PubAck, keeping W publishes outstanding; deletes it after.
 */
import { parseArgs } from "node:util";
import { RawConn, pubFrames } from "./_raw-nats.ts";

/** ClientResult is what the driver reads from stdout. */
export interface ClientResult {
  mode: string;
  count: number;
  seconds: number;
  rate: number;
  /** Client CPU time / wall time: well under 1 means the client was not the limit. */
  clientCpu: number;
  errors: string[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string" },
    size: { type: "string", default: "16" },
    count: { type: "string", default: "100000" },
    window: { type: "string", default: "256" },
    timeout: { type: "string", default: "300" },
  },
});
const mode = positionals[0] ?? "";
const port = Number(values.port);
const size = Number(values.size);
const count = Number(values.count);
const deadline = Date.now() + Number(values.timeout) * 1000;

function check(): void {
  if (Date.now() > deadline) throw new Error(`timed out after ${values.timeout} s`);
}

async function core(): Promise<Omit<ClientResult, "clientCpu">> {
  const sub = await RawConn.open(port, "bench-sub");
  const pub = await RawConn.open(port, "bench-pub");
  let received = 0;
  let t1 = 0;
  let wake: (() => void) | null = null;
  sub.onMsg = () => {
    if (++received === count) t1 = performance.now();
    if (wake && (received === count || received % 4096 === 0)) { const w = wake; wake = null; w(); }
  };
  await sub.write(Buffer.from("SUB bench.core 1\r\n"));
  await sub.flush();
  const perChunk = Math.max(1, Math.floor(65536 / (size + 24)));
  const { chunk, frameLen } = pubFrames("bench.core", size, perChunk);
  // Never run further ahead of the subscriber than this: keeps nats-server's per-client buffers far from its slow-consumer limit.
  const ahead = Math.max(perChunk * 4, Math.floor((8 * 1024 * 1024) / frameLen));
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    while (sent - received > ahead) {
      await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      check();
      if (sub.closed) throw new Error(`subscriber disconnected: ${sub.errors.join("; ")}`);
    }
    const k = Math.min(perChunk, count - sent);
    await pub.write(k === perChunk ? chunk : chunk.subarray(0, k * frameLen));
    sent += k;
  }
  while (received < count) {
    await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    check();
    if (sub.closed) throw new Error(`subscriber disconnected: ${sub.errors.join("; ")}`);
  }
  const errors = [...pub.errors, ...sub.errors];
  pub.close();
  sub.close();
  const seconds = (t1 - t0) / 1000;
  return { mode, count, seconds, rate: count / seconds, errors };
}

async function apiRequest(conn: RawConn, subject: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = Buffer.from(JSON.stringify(body));
  const reply = new Promise<string>((res) => { conn.onMsg = (buf, at, n) => res(buf.toString("utf8", at, at + n)); });
  await conn.write(Buffer.concat([Buffer.from(`PUB ${subject} _INBOX.bench.api ${payload.length}\r\n`), payload, Buffer.from("\r\n")]));
  const text = await Promise.race([reply, Bun.sleep(10_000).then(() => { throw new Error(`no reply to ${subject}`); })]);
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (doc.error) throw new Error(`${subject}: ${JSON.stringify(doc.error)}`);
  return doc;
}

async function js(): Promise<Omit<ClientResult, "clientCpu">> {
  const window = Number(values.window);
  const api = await RawConn.open(port, "bench-api");
  await api.write(Buffer.from("SUB _INBOX.bench.api 1\r\n"));
  await api.flush();
  await apiRequest(api, "$JS.API.STREAM.DELETE.BENCH", {}).catch(() => {});
  await apiRequest(api, "$JS.API.STREAM.CREATE.BENCH", { name: "BENCH", subjects: ["bench.js"], storage: "file", num_replicas: 1, discard: "old", max_msgs: -1 });
  const conn = await RawConn.open(port, "bench-js");
  const errors: string[] = [];
  let acked = 0;
  let t1 = 0;
  let wake: (() => void) | null = null;
  let sent = 0;
  conn.onMsg = (buf, at, n) => {
    if (buf[at + 2] === 101 /* {"e…: {"error":…} */) {
      if (errors.length < 5) errors.push(buf.toString("utf8", at, at + n));
    }
    if (++acked === count) t1 = performance.now();
    if (wake && sent - acked <= window / 2) { const w = wake; wake = null; w(); }
  };
  await conn.write(Buffer.from("SUB _INBOX.bench.ack 1\r\n"));
  await conn.flush();
  const { chunk, frameLen } = pubFrames("bench.js", size, window, "_INBOX.bench.ack");
  const t0 = performance.now();
  while (sent < count) {
    const k = Math.min(window - (sent - acked), count - sent);
    if (k > 0) {
      await conn.write(chunk.subarray(0, k * frameLen));
      sent += k;
    }
    if (sent - acked > window / 2 || sent === count) {
      await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      check();
      if (conn.closed) throw new Error(`publisher disconnected: ${conn.errors.join("; ")}`);
    }
  }
  while (acked < count) {
    await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    check();
  }
  await apiRequest(api, "$JS.API.STREAM.DELETE.BENCH", {});
  conn.close();
  api.close();
  const seconds = (t1 - t0) / 1000;
  return { mode, count, seconds, rate: count / seconds, errors: [...errors, ...conn.errors] };
}

const cpu0 = process.cpuUsage();
const w0 = performance.now();
const result = mode === "core" ? await core() : mode === "js" ? await js() : (() => { throw new Error(`unknown mode ${mode}`); })();
const cpu = process.cpuUsage(cpu0);
const out: ClientResult = { ...result, clientCpu: (cpu.user + cpu.system) / 1000 / (performance.now() - w0) };
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
