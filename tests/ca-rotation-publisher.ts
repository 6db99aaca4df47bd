/**
 * ca-rotation-publisher.ts is the client that keeps publishing through a CA
 * rotation: run inside a node's network namespace, it publishes to an R3
 * stream with acknowledgements, one message after the other without pause,
 * retrying a failed publish with the same message id (so a lost ack is not
 * counted twice), until STOPFILE appears. It writes its progress to
 * OUTFILE (JSON) every 200 ms and at the end: messages acknowledged, failed
 * attempts, and the longest time without an acknowledgement.
 *
 *   bun ca-rotation-publisher.ts CAFILE STREAM STOPFILE OUTFILE
 */
import { existsSync, writeFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";

const [caFile, stream, stopFile, outFile] = process.argv.slice(2);
const nc = await connect({ servers: "tls://127.0.0.1:4222", tls: { caFile: caFile! }, timeout: 5_000, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
const js = jetstream(nc, { timeout: 2_000 });
let acked = 0;
let failures = 0;
let reconnects = 0;
let lastAck = performance.now();
let longestGapMs = 0;
let longestGapAt = "";
const errors: string[] = [];
(async () => {
  for await (const s of nc.status()) if (s.type === "reconnect") reconnects++;
})();
const report = (done: boolean) => writeFileSync(outFile!, JSON.stringify({ done, acked, failures, reconnects, longestGapMs: Math.round(longestGapMs), longestGapAt, errors: errors.slice(-5) }));
const timer = setInterval(() => report(false), 200);
while (!existsSync(stopFile!)) {
  try {
    await js.publish(`${stream}.w`, `${acked}`, { msgID: `p-${acked}` });
    const now = performance.now();
    if (now - lastAck > longestGapMs) {
      longestGapMs = now - lastAck;
      longestGapAt = new Date().toISOString();
    }
    lastAck = now;
    acked++;
  } catch (err) {
    failures++;
    errors.push(`${new Date().toISOString()} ${(err as Error).message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
clearInterval(timer);
report(true);
await nc.close();
