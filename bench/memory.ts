/**
 * memory.ts measures resident memory (VmRSS from /proc/PID/status): unibus's
 * own process and the whole node (unibus + its nats-server child) beside a
 * bare nats-server when idle, and unibus after a long stretch of admin-page
 * polling, which must not grow.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "./_context.ts";
import { withPair, type Pair } from "./_pair.ts";
import { cpuTicks, natsChildOf, rssAnonKiB, rssKiB } from "./_servers.ts";
import { bunFloorRssKiB } from "./_bun-floor.ts";
import { MiB, row, summarize, type Row } from "./_stats.ts";

const KiB_PER_MiB = MiB / 1024;

/** measureIdleRss returns the idle RSS rows: unibus alone, and the whole node beside bare nats-server. */
export async function measureIdleRss(ctx: BenchContext): Promise<Row[]> {
  const settleMs = ctx.quick ? 1_000 : 5_000;
  const own: number[] = [];
  const ownAnon: number[] = [];
  const child: number[] = [];
  const total: number[] = [];
  const bare: number[] = [];
  const floor: number[] = [];
  let ticks = 0;
  let idleMs = 0;
  for (let i = 0; i < ctx.reps; i++) {
    ctx.say(`idle RSS: repetition ${i + 1}/${ctx.reps} (settling ${settleMs / 1000} s)`);
    await withPair(ctx, `bench-rss-${i}`, {}, async (pair) => {
      const t0 = cpuTicks(pair.unibus.proc.pid);
      const w0 = performance.now();
      await Bun.sleep(settleMs);
      ticks += cpuTicks(pair.unibus.proc.pid) - t0;
      idleMs += performance.now() - w0;
      const u = rssKiB(pair.unibus.proc.pid) / KiB_PER_MiB;
      const c = rssKiB(natsChildOf(pair.unibus.proc.pid)) / KiB_PER_MiB;
      own.push(u);
      ownAnon.push(rssAnonKiB(pair.unibus.proc.pid) / KiB_PER_MiB);
      child.push(c);
      total.push(u + c);
      bare.push(rssKiB(pair.bare.proc.pid) / KiB_PER_MiB);
    });
    floor.push((await bunFloorRssKiB(settleMs)) / KiB_PER_MiB);
  }
  const unibusOnly = row({
    id: "rss_unibus_idle", name: "idle RSS, unibus process alone", unit: "MiB", better: "lower", unibus: own,
    note: `supervisor only (Bun runtime + admin page), after ${settleMs / 1000} s idle${process.env.BUN_JSC_useJIT ? ` with BUN_JSC_useJIT=${process.env.BUN_JSC_useJIT} (all JIT tiers)` : ", JIT tiers off (lib/runtime-memory.ts)"}; of it private (RssAnon) median ${summarize(ownAnon).median.toFixed(1)} MiB, the rest executable pages; its nats-server child: median ${summarize(child).median.toFixed(1)} MiB; unibus CPU while idle: ${((ticks * 10 * 100) / idleMs).toFixed(2)}% of one core; floor = a Bun --compile hello world, median ${summarize(floor).median.toFixed(1)} MiB`,
    target: "≤ 45 MiB",
  });
  unibusOnly.pass = unibusOnly.unibus!.median <= 45;
  const bunFloor = row({
    id: "rss_bun_floor", name: "idle RSS, Bun --compile hello world (the floor)", unit: "MiB", better: "lower", unibus: floor,
    note: "the runtime every Bun executable pays, compiled with dist/'s flags (bench/_bun-floor.ts)",
  });
  const node = row({
    id: "rss_node_idle", name: "idle RSS, whole node (unibus + nats-server)", unit: "MiB", better: "lower", unibus: total, bare,
    note: "bare = the nats-server process alone with the same config",
  });
  return [unibusOnly, bunFloor, node];
}

/** Poller is what gets polled: the admin page's paths, with its token. */
interface Poller { what: string; urls: string[]; headers: Record<string, string> }

async function adminPoller(pair: Pair): Promise<Poller> {
  const tokenFile = join(pair.unibus.dataDir, "admin.token");
  for (let i = 0; i < 50 && !existsSync(tokenFile); i++) await Bun.sleep(100);
  const headers = { authorization: `Bearer ${readFileSync(tokenFile, "utf8").trim()}` };
  const base = `http://127.0.0.1:${pair.unibus.admin}`;
  // The admin page starts after nats-server is ready: give it a moment.
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.arrayBuffer(), () => null)) break;
    await Bun.sleep(100);
  }
  // The dashboard, its JSON API, Prometheus metrics, and the public probes.
  const paths = ["/", "/api/overview", "/metrics", "/healthz", "/readyz"];
  return { what: `admin page ${paths.join(" ")} with the bearer token`, urls: paths.map((p) => base + p), headers };
}

/**
 * measurePolledRss polls the admin page for 10 minutes (a few seconds in
 * quick mode), sampling unibus's RSS every 10 s, and reports the samples and
 * the growth from the end of the first tenth (warm-up) to the end.
 */
export async function measurePolledRss(ctx: BenchContext): Promise<Row[]> {
  const durationMs = ctx.quick ? 4_000 : 600_000;
  const sampleEveryMs = ctx.quick ? 500 : 10_000;
  return withPair(ctx, "bench-rss-poll", {}, async (pair) => {
    const poller = await adminPoller(pair);
    ctx.say(`polled RSS: polling ${poller.what} for ${durationMs / 1000} s`);
    const pid = pair.unibus.proc.pid;
    const samples: number[] = [rssKiB(pid) / KiB_PER_MiB];
    const start = performance.now();
    let requests = 0;
    let failures = 0;
    let nextSample = start + sampleEveryMs;
    let baseline: number | undefined;
    const ticks0 = cpuTicks(pid);
    while (performance.now() - start < durationMs) {
      // One round of every path each 250 ms (~20 requests/s for 5 paths), one request at a time:
      // far more than a person's browser, so a leak shows within minutes.
      const roundStart = performance.now();
      for (const url of poller.urls) {
        try {
          const res = await fetch(url, { headers: poller.headers, signal: AbortSignal.timeout(5_000) });
          await res.arrayBuffer();
          if (res.status !== 200) failures++;
        } catch {
          failures++;
        }
        requests++;
      }
      await Bun.sleep(Math.max(0, 250 - (performance.now() - roundStart)));
      if (performance.now() >= nextSample) {
        samples.push(rssKiB(pid) / KiB_PER_MiB);
        nextSample += sampleEveryMs;
        if (baseline === undefined && performance.now() - start >= durationMs / 10) baseline = samples[samples.length - 1];
      }
    }
    const end = rssKiB(pid) / KiB_PER_MiB;
    const cpuPct = ((cpuTicks(pid) - ticks0) * 10 * 100) / (performance.now() - start);
    samples.push(end);
    const growth = end - (baseline ?? samples[0]!);
    const r = row({
      id: "rss_unibus_polled", name: `unibus RSS during ${durationMs / 60_000 >= 1 ? `${durationMs / 60_000} min` : `${durationMs / 1000} s`} of polling`, unit: "MiB", better: "lower", unibus: samples,
      note: `${requests} requests to ${poller.what} (${failures} failed); RSS ${samples[0]!.toFixed(1)} at start, ${end.toFixed(1)} at end, growth after warm-up ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MiB; unibus CPU while polled ${cpuPct.toFixed(1)}% of one core`,
      target: "growth ≤ 5 MiB, no failures",
    });
    r.pass = growth <= 5 && failures === 0;
    return [r];
  });
}
