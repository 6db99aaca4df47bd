/**
 * fleet-netns-client.ts is a tiny NATS client the fleet tests run inside a
 * box's namespace (`ip netns exec NS bun this.ts …`), reaching that box's
 * nats-server on its loopback as a local app would. One JSON line out.
 *
 *   publish URL SUBJECT COUNT        JetStream-publish COUNT messages "0".."COUNT-1" (each acknowledged by the local stream)
 *   read    URL CA STREAM             every message of STREAM in order: {count, payloads ok in order, first, last}
 *   say     URL SUBJECT TEXT          core-publish TEXT three times, a second apart (an anonymous local app): {sent}
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const [op, url, a, b] = process.argv.slice(2);
if (op === "publish") {
  const nc = await connect({ servers: url!, timeout: 5_000 });
  const js = jetstream(nc);
  let acked = 0;
  for (let i = 0; i < Number(b); i++) {
    await js.publish(a!, String(i));
    acked++;
  }
  console.log(JSON.stringify({ acked }));
  await nc.close();
} else if (op === "read") {
  const nc = await connect({ servers: url!, tls: { caFile: a! }, timeout: 5_000 });
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(b!);
  const payloads: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(b!, { seq });
    if (m) payloads.push(m.string());
  }
  const inOrder = payloads.every((p, i) => p === String(i));
  console.log(JSON.stringify({ count: payloads.length, inOrder, first: payloads[0], last: payloads.at(-1), sources: info.sources?.map((s) => ({ lag: s.lag })) }));
  await nc.close();
} else if (op === "say") {
  const nc = await connect({ servers: url!, timeout: 5_000 });
  for (let i = 0; i < 3; i++) {
    nc.publish(a!, b!);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 1_000));
  }
  console.log(JSON.stringify({ sent: 3 }));
  await nc.close();
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
