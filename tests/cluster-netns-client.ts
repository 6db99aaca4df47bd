/**
 * cluster-netns-client.ts is a tiny NATS client the netns cluster test runs
 * inside a node's network namespace (`ip netns exec NS bun this.ts …`), so it
 * reaches the node on that namespace's loopback exactly as a local app would.
 * It prints one JSON line with the outcome.
 *
 *   setup   CA STREAM            create an R3 stream on subjects STREAM.>
 *   publish CA STREAM COUNT      publish COUNT messages, each retried until acknowledged (30 s max)
 *   info    CA STREAM            stream state as this node's client sees it
 *   bulk    CA STREAM COUNT SIZE publish COUNT messages of SIZE bytes, 32 in flight (fills a stream fast)
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const [op, caFile, stream, countText, sizeText] = process.argv.slice(2);
const nc = await connect({ servers: "tls://127.0.0.1:4222", tls: { caFile: caFile! }, timeout: 5_000 });
/**
 * withRetry repeats a JetStream call for up to 30 s: right after a link is cut
 * the meta leader may be the unreachable node until the survivors elect a new one.
 */
async function withRetry<T>(call: () => Promise<T>): Promise<{ value: T; tries: number }> {
  const until = Date.now() + 30_000;
  for (let tries = 1; ; tries++) {
    try {
      return { value: await call(), tries };
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
let out: unknown;
if (op === "setup") {
  // Right after formation the meta group may not yet place three replicas: retry briefly.
  const { tries } = await withRetry(async () => (await jetstreamManager(nc)).streams.add({ name: stream!, subjects: [`${stream}.>`], num_replicas: 3 }));
  out = { ok: true, tries };
} else if (op === "publish") {
  const js = jetstream(nc, { timeout: 2_000 });
  const t0 = performance.now();
  let acked = 0;
  let retries = 0;
  // Why attempts failed (the error's first words), so a stall says whether it was "no responders" or a timeout.
  const errs: Record<string, number> = {};
  for (let i = 0; i < Number(countText); i++) {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        await js.publish(`${stream}.w`, `${i}`, { msgID: `w-${countText}-${i}` }); // a retry after a lost ack is deduplicated
        acked++;
        break;
      } catch (err) {
        retries++;
        const why = ((err as Error).message ?? String(err)).slice(0, 40);
        errs[why] = (errs[why] ?? 0) + 1;
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  out = { acked, retries, ms: Math.round(performance.now() - t0), errs };
} else if (op === "bulk") {
  const js = jetstream(nc, { timeout: 10_000 });
  // Random bytes: routes compress (s2), and a stream of one letter would cross any link at once.
  const body = new Uint8Array(Number(sizeText));
  for (let o = 0; o < body.length; o += 65_536) crypto.getRandomValues(body.subarray(o, o + 65_536));
  const t0 = performance.now();
  let next = 0;
  let acked = 0;
  const worker = async () => {
    while (next < Number(countText)) {
      next++;
      await js.publish(`${stream}.bulk`, body);
      acked++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  out = { acked, ms: Math.round(performance.now() - t0) };
} else if (op === "info") {
  const { value: info } = await withRetry(async () => (await jetstreamManager(nc)).streams.info(stream!));
  out = { messages: info.state.messages, leader: info.cluster?.leader, replicas: info.cluster?.replicas?.map((r) => ({ name: r.name, current: r.current })) };
} else {
  throw new Error(`unknown op ${op}`);
}
console.log(JSON.stringify(out));
await nc.close();
