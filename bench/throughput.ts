/**
 * throughput.ts measures core NATS pub/sub throughput (one publisher, one
 * subscriber, 16 B and 1 KiB payloads) through unibus's nats-server and
 * through the bare one. The load comes from bench/_pubsub-client.ts, a raw
 * protocol client in its own process (see that file for why it is not the limit).
 */
import type { BenchContext } from "./_context.ts";
import { alternate, runClient, withPair } from "./_pair.ts";
import { row, type Row } from "./_stats.ts";

const SIZES = [
  { size: 16, label: "16 B", full: 4_000_000, quick: 100_000 },
  { size: 1024, label: "1 KiB", full: 1_500_000, quick: 50_000 },
];

/** measureThroughput returns one row per payload size. */
export async function measureThroughput(ctx: BenchContext): Promise<Row[]> {
  return withPair(ctx, "bench-core", {}, async (pair) => {
    const rows: Row[] = [];
    for (const s of SIZES) {
      const count = String(ctx.quick ? s.quick : s.full);
      const u: number[] = [];
      const b: number[] = [];
      const cpu: number[] = [];
      // One untimed warm-up per side so both have their buffers sized before the samples.
      await runClient(["core", "--port", String(pair.unibus.port), "--size", String(s.size), "--count", "20000"]);
      await runClient(["core", "--port", String(pair.bare.port), "--size", String(s.size), "--count", "20000"]);
      for (let i = 0; i < ctx.reps; i++) {
        ctx.say(`core pub/sub ${s.label}: repetition ${i + 1}/${ctx.reps}`);
        const args = (port: number) => ["core", "--port", String(port), "--size", String(s.size), "--count", count];
        const r = await alternate(i, () => runClient(args(pair.unibus.port)), () => runClient(args(pair.bare.port)));
        u.push(r.unibus.rate);
        b.push(r.bare.rate);
        cpu.push(r.unibus.clientCpu, r.bare.clientCpu);
      }
      const r = row({
        id: `pubsub_${s.size}b`, name: `core pub/sub ${s.label}, 1 pub → 1 sub`, unit: "msgs/s", better: "higher", unibus: u, bare: b,
        note: `${count} msgs per sample; raw-protocol Bun client in its own process, client CPU ${(Math.max(...cpu) * 100).toFixed(0)}% of one core at most; plain TCP`,
        target: "ratio ≥ 0.98",
      });
      r.pass = r.ratio !== null && r.ratio >= 0.98;
      rows.push(r);
    }
    return rows;
  });
}
