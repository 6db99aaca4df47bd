/**
 * throughput.ts measures core NATS pub/sub throughput (one publisher, one
 * subscriber, 16 B and 1 KiB payloads) through unibus's nats-server and
 * through the bare one. The load comes from bench/_pubsub-client.ts, a raw
 * protocol client in its own process (see that file for why it is not the limit).
 */
import { join } from "node:path";
import { freePort, type BenchContext } from "./_context.ts";
import { runClient, withPair } from "./_pair.ts";
import { bareConfigFrom, firstRoundTrip, natsBinaryIn, startBare, stop } from "./_servers.ts";
import { row, summarize, type Row } from "./_stats.ts";

const SIZES = [
  { size: 16, label: "16 B", full: 4_000_000, quick: 100_000 },
  { size: 1024, label: "1 KiB", full: 1_500_000, quick: 50_000 },
];

/**
 * measureThroughput returns one row per payload size. A second bare
 * nats-server with the same config runs beside the pair: its rate against the
 * first bare one is the noise floor of the machine, printed with each row so a
 * ratio can be read against it.
 */
export async function measureThroughput(ctx: BenchContext): Promise<Row[]> {
  return withPair(ctx, "bench-core", {}, async (pair) => {
    const port2 = await freePort();
    const conf2 = bareConfigFrom(pair.unibus.dataDir, join(ctx.dir, "bench-core", "bare2"), { client: port2, monitor: await freePort() });
    const bare2 = startBare(natsBinaryIn(pair.unibus.dataDir), conf2, join(ctx.dir, "bench-core", "bare2.log"));
    try {
      await firstRoundTrip(bare2, port2);
      return await sizes(ctx, pair.unibus.port, pair.bare.port, port2);
    } finally {
      await stop(bare2);
    }
  });
}

async function sizes(ctx: BenchContext, unibusPort: number, barePort: number, bare2Port: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const s of SIZES) {
    const count = String(ctx.quick ? s.quick : s.full);
    const args = (port: number, n = count) => ["core", "--port", String(port), "--size", String(s.size), "--count", n];
    // One untimed warm-up per server so all have their buffers sized before the samples.
    for (const port of [unibusPort, barePort, bare2Port]) await runClient(args(port, "20000"));
    const sides = [
      { port: unibusPort, rates: [] as number[] },
      { port: barePort, rates: [] as number[] },
      { port: bare2Port, rates: [] as number[] },
    ];
    const cpu: number[] = [];
    for (let i = 0; i < ctx.reps; i++) {
      ctx.say(`core pub/sub ${s.label}: repetition ${i + 1}/${ctx.reps}`);
      // Rotate who goes first, so drift in background load does not favour one server.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + k) % sides.length]!;
        const r = await runClient(args(side.port));
        side.rates.push(r.rate);
        cpu.push(r.clientCpu);
      }
    }
    const [u, b, b2] = sides.map((x) => x.rates) as [number[], number[], number[]];
    const floor = summarize(b2).median / summarize(b).median;
    const r = row({
      id: `pubsub_${s.size}b`, name: `core pub/sub ${s.label}, 1 pub → 1 sub`, unit: "msgs/s", better: "higher", unibus: u, bare: b,
      note: `${count} msgs per sample; raw-protocol Bun client in its own process, client CPU ${(Math.max(...cpu) * 100).toFixed(0)}% of one core at most; plain TCP; noise floor (a second bare nats-server / the first): ${floor.toFixed(3)}`,
      target: "ratio ≥ 0.98",
    });
    r.pass = r.ratio !== null && r.ratio >= 0.98;
    rows.push(r);
  }
  return rows;
}
