/**
 * jetstream.ts measures JetStream publish with acks on an R1 file stream,
 * with unibus's default `sync = "always"` (fsync before every ack) and with
 * nats-server's default (sync every 2 minutes), side by side.
 */
import type { BenchContext } from "./_context.ts";
import { alternate, runClient, withPair } from "./_pair.ts";
import { row, type Row } from "./_stats.ts";

const MODES = [
  { sync: "always", label: 'sync = "always" (unibus default)', full: 20_000, quick: 2_000 },
  { sync: "2m", label: 'sync = "2m" (nats default)', full: 300_000, quick: 10_000 },
];
const SIZE = 128;
const WINDOW = 256;

/** measureJetStream returns one row per sync mode. */
export async function measureJetStream(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const m of MODES) {
    rows.push(await withPair(ctx, `bench-js-${m.sync}`, { sync: m.sync }, async (pair) => {
      const count = String(ctx.quick ? m.quick : m.full);
      const args = (port: number) => ["js", "--port", String(port), "--size", String(SIZE), "--count", count, "--window", String(WINDOW)];
      const u: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < ctx.reps; i++) {
        ctx.say(`jetstream ${m.sync}: repetition ${i + 1}/${ctx.reps}`);
        const r = await alternate(i, () => runClient(args(pair.unibus.port)), () => runClient(args(pair.bare.port)));
        u.push(r.unibus.rate);
        b.push(r.bare.rate);
      }
      const r = row({
        id: `js_pub_sync_${m.sync}`, name: `JetStream publish+ack R1, ${m.label}`, unit: "msgs/s", better: "higher", unibus: u, bare: b,
        note: `${count} msgs of ${SIZE} B per sample, ${WINDOW} publishes in flight, new file stream each sample`,
        target: "ratio ≥ 0.98",
      });
      r.pass = r.ratio !== null && r.ratio >= 0.98;
      return r;
    }));
  }
  return rows;
}
