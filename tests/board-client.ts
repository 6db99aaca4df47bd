/**
 * board-client.ts runs inside an emulated Raspberry Pi (bundled to one file and
 * run by the unibus executable itself with BUN_BE_BUN=1): a request/reply round
 * trip through the node and a JetStream file-stream write and read. It prints
 * `RESULT key=value` lines for the test on the host to read from the console.
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const server = process.argv[2] ?? "nats://127.0.0.1:4222";
const nc = await connect({ servers: server, timeout: 20_000 });
try {
  const sub = nc.subscribe("pi.echo", { callback: (_err, msg) => { msg.respond(`echo ${msg.string()}`); } });
  const t0 = performance.now();
  const reply = await nc.request("pi.echo", "hello", { timeout: 20_000 });
  console.log(`RESULT roundtrip=${reply.string() === "echo hello" ? "ok" : `wrong:${reply.string()}`} roundtrip_ms=${(performance.now() - t0).toFixed(1)}`);
  sub.unsubscribe();

  const jsm = await jetstreamManager(nc, { timeout: 20_000 });
  await jsm.streams.add({ name: "PI", subjects: ["pi.js.>"], storage: "file" });
  const js = jetstream(nc, { timeout: 20_000 });
  const ack = await js.publish("pi.js.reading", "21.5C");
  const got = await jsm.streams.getMessage("PI", { seq: ack.seq });
  console.log(`RESULT jetstream=${got?.string() === "21.5C" && ack.stream === "PI" ? "ok" : `wrong:${got?.string()}`} seq=${ack.seq}`);
} finally {
  await nc.close();
}
