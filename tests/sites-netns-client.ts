/**
 * sites-netns-client.ts is a tiny NATS client the sites test runs inside a
 * box's namespace (`ip netns exec NS bun this.ts …`), reaching that box's
 * nats-server on its loopback (TLS, the CA file) as a local app would. It
 * writes to a JetStream the way an app does: make a stream, publish with an
 * acknowledgement, make a KV bucket and put a key. One JSON line out; a
 * failure is {"error": …} and exit 1, never a stack trace.
 *
 *   write URL CA TAG [DOMAIN]   stream S_TAG (subjects w.TAG.>), 5 acknowledged publishes, KV bucket kv_TAG with one key;
 *                               in this site's own JetStream, or in DOMAIN's (another site's, across the link)
 */
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";

const [op, url, ca, tag, domain] = process.argv.slice(2);
if (op !== "write" || !url || !ca || !tag) {
  console.error("usage: write URL CA TAG [DOMAIN]");
  process.exit(2);
}
const nc = await connect({ servers: url, tls: { caFile: ca }, timeout: 5_000 });
try {
  // checkAPI off: a JetStream that answers its account info late must not hide what the writes themselves do.
  const opts = { timeout: 5_000, checkAPI: false, ...(domain ? { domain } : {}) };
  const jsm = await jetstreamManager(nc, opts);
  const js = jetstream(nc, opts);
  const info = await jsm.streams.add({ name: `S_${tag}`, subjects: [`w.${tag}.>`] });
  let acked = 0;
  for (let i = 0; i < 5; i++) {
    const ack = await js.publish(`w.${tag}.x`, String(i));
    if (ack.stream === info.config.name) acked++;
  }
  const kv = await new Kvm(js).create(`kv_${tag}`);
  const revision = await kv.put("k", tag);
  console.log(JSON.stringify({ stream: info.config.name, acked, kvRevision: revision, domain: ((await jsm.getAccountInfo()) as { domain?: string }).domain ?? null }));
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message }));
  process.exitCode = 1;
} finally {
  await nc.close();
}
