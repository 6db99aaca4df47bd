/**
 * startup.ts measures start to first message round trip, cold and warm.
 * unibus cold = empty data dir (extract nats-server, issue the node
 * certificate from the CA); warm = the same data dir again. Bare cold = a
 * fresh store dir; warm = the same store dir again. Each repetition runs the
 * four cases interleaved, so background load hits both sides alike.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, writeNodeToml, type BenchContext } from "./_context.ts";
import { bareConfigFrom, firstRoundTrip, natsBinaryIn, startBare, startUnibus, stop, type Proc } from "./_servers.ts";
import { describePhases, phasesOf } from "./_phases.ts";
import { row, type Row } from "./_stats.ts";

async function timeToRoundTrip(p: Proc, port: number, caFile: string, phases?: Record<string, number>[]): Promise<number> {
  try {
    const at = await firstRoundTrip(p, port, caFile);
    return at - p.spawnedAt;
  } finally {
    await stop(p);
    const ph = phases && phasesOf(p.logFile, p.spawnedWall);
    if (ph) phases!.push(ph);
  }
}

/** measureStartup returns the cold and warm start rows. */
export async function measureStartup(ctx: BenchContext): Promise<Row[]> {
  const client = await freePort();
  const monitor = await freePort();
  const spec = { name: "bench-start", client, monitor, tls: true };
  const warm = await writeNodeToml(ctx, join(ctx.dir, "start-warm"), spec);
  const logs = join(ctx.dir, "start-logs");
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });

  // Prime the warm data dir: extraction and certificate happen here, not in the warm samples.
  ctx.say("startup: priming the warm data dir");
  await timeToRoundTrip(startUnibus(warm.file, join(logs, "prime.log")), client, ctx.ca.cert);
  const binary = natsBinaryIn(warm.dataDir);
  const bareWarmConf = bareConfigFrom(warm.dataDir, join(ctx.dir, "start-bare-warm"));
  await timeToRoundTrip(startBare(binary, bareWarmConf, join(logs, "prime-bare.log")), client, ctx.ca.cert);

  const s = { uCold: [] as number[], uWarm: [] as number[], bCold: [] as number[], bWarm: [] as number[] };
  const phases = { cold: [] as Record<string, number>[], warm: [] as Record<string, number>[] };
  for (let i = 0; i < ctx.reps; i++) {
    ctx.say(`startup: repetition ${i + 1}/${ctx.reps}`);
    s.uWarm.push(await timeToRoundTrip(startUnibus(warm.file, join(logs, `u-warm-${i}.log`)), client, ctx.ca.cert, phases.warm));
    s.bWarm.push(await timeToRoundTrip(startBare(binary, bareWarmConf, join(logs, `b-warm-${i}.log`)), client, ctx.ca.cert));
    const coldDir = join(ctx.dir, `start-cold-${i}`);
    const cold = await writeNodeToml(ctx, coldDir, { ...spec, ...(warm.admin !== undefined ? { admin: warm.admin } : {}) });
    s.uCold.push(await timeToRoundTrip(startUnibus(cold.file, join(logs, `u-cold-${i}.log`)), client, ctx.ca.cert, phases.cold));
    rmSync(coldDir, { recursive: true, force: true });
    const bareColdDir = join(ctx.dir, `start-bare-cold-${i}`);
    const bareColdConf = bareConfigFrom(warm.dataDir, bareColdDir);
    s.bCold.push(await timeToRoundTrip(startBare(binary, bareColdConf, join(logs, `b-cold-${i}.log`)), client, ctx.ca.cert));
    rmSync(bareColdDir, { recursive: true, force: true });
  }
  const cold = row({
    id: "start_cold", name: "start → first round trip, cold", unit: "ms", better: "lower", unibus: s.uCold, bare: s.bCold,
    note: `unibus: empty data dir (extract nats-server, issue node cert from CA); bare: fresh store dir; TLS client port; unibus phases (median, from its log): ${describePhases(phases.cold)}`,
  });
  const warmRow = row({
    id: "start_warm", name: "start → first round trip, warm", unit: "ms", better: "lower", unibus: s.uWarm, bare: s.bWarm,
    note: `same data/store dir as the previous start; unibus phases: ${describePhases(phases.warm)}`,
  });
  judgeOverhead(cold, 250);
  judgeOverhead(warmRow, 100);
  return [cold, warmRow];
}

function judgeOverhead(r: Row, maxMs: number): void {
  r.target = `overhead ≤ ${maxMs} ms`;
  if (r.unibus && r.bare) {
    const over = r.unibus.median - r.bare.median;
    r.pass = over <= maxMs;
    r.note = `${r.note}; overhead ${over.toFixed(0)} ms`;
  }
}
