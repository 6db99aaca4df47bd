/**
 * run.ts is `npm run bench`: unibus beside the bare nats-server, every row
 * measured in the same run. It builds dist/unibus-linux-x64 when stale,
 * prints a table and writes bench/results.json.
 *
 *   bun bench/run.ts [--quick] [--reps N] [--out FILE] [--only a,b]
 *     --quick  1 repetition, tiny message counts, seconds of polling (the smoke test)
 *     --only   sections: size,startup,rss,pubsub,jetstream,backup,poll,cluster,fleet
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { disposeContext, makeContext, type BenchContext } from "./_context.ts";
import { BIN, ROOT, killAll, runUnibusCommand } from "./_servers.ts";
import { MiB, type Row } from "./_stats.ts";
import { formatTable } from "./_table.ts";
import { measureBackup } from "./backup.ts";
import { measureCluster } from "./cluster.ts";
import { measureFleet } from "./fleet.ts";
import { measureJetStream } from "./jetstream.ts";
import { measureIdleRss, measurePolledRss } from "./memory.ts";
import { measureSizes } from "./size.ts";
import { measureStartup } from "./startup.ts";
import { measureThroughput } from "./throughput.ts";

/** SECTIONS run in this order; the long polling row and the cluster come last. */
const SECTIONS: { name: string; run: (ctx: BenchContext) => Promise<Row[]> | Row[] }[] = [
  { name: "size", run: () => measureSizes() },
  { name: "startup", run: measureStartup },
  { name: "rss", run: measureIdleRss },
  { name: "pubsub", run: measureThroughput },
  { name: "jetstream", run: measureJetStream },
  { name: "backup", run: measureBackup },
  { name: "poll", run: measurePolledRss },
  { name: "cluster", run: measureCluster },
  { name: "fleet", run: measureFleet },
];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    out: { type: "string", default: join(ROOT, "bench", "results.json") },
    only: { type: "string" },
  },
});
const only = values.only ? new Set(values.only.split(",")) : null;
const reps = values.reps ? Number(values.reps) : undefined;
if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) throw new Error(`--reps ${values.reps}: expected a whole number ≥ 1`);

function machine() {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cores: cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "unknown",
    memoryGiB: Math.round((totalmem() / MiB / 1024) * 10) / 10,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const build = Bun.spawnSync([process.execPath, "scripts/build.ts", "--target", "linux-x64", "--if-stale"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) {
  console.error("bench: the build failed");
  process.exit(1);
}

const started = Date.now();
const ctx = makeContext(values.quick, reps);
const onSignal = async () => {
  await killAll();
  disposeContext(ctx);
  process.exit(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const host = machine();
const version = runUnibusCommand(["--version"]).out.trim().split("\n");
ctx.say(`${values.quick ? "quick" : "full"} run, ${ctx.reps} repetition(s); ${host.cores} cores, ${host.cpuModel}; load ${host.loadAvgAtStart.join(" ")}`);
const rows: Row[] = [];
const errors: { section: string; error: string }[] = [];
try {
  for (const section of SECTIONS) {
    if (only && !only.has(section.name)) continue;
    try {
      rows.push(...(await section.run(ctx)));
    } catch (err) {
      errors.push({ section: section.name, error: (err as Error).message });
      ctx.say(`${section.name} FAILED: ${(err as Error).message}`);
      await killAll();
    }
  }
} finally {
  await killAll();
  disposeContext(ctx);
}

const results = {
  date: new Date(started).toISOString(),
  mode: values.quick ? "quick" : "full",
  repetitions: ctx.reps,
  durationS: Math.round((Date.now() - started) / 1000),
  machine: { ...host, loadAvgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
  unibus: { binary: BIN, version },
  method: "unibus = dist/unibus-linux-x64 --config node.toml; bare = <data_dir>/bin/nats-server-<sha> -c <the config unibus rendered>, only store dir, pid file and (for side-by-side rows) ports changed; repetitions interleave unibus and bare",
  rows,
  errors,
};
const out = resolve(values.out!);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 2) + "\n");

console.log(`unibus bench (${results.mode}, ${ctx.reps} repetition(s), ${results.durationS} s) — ${version[0]}, ${version[1] ?? ""}`);
console.log(`machine: ${host.cores} cores, ${host.cpuModel}, ${host.memoryGiB} GiB, Linux ${host.kernel}, bun ${host.bun}; load average ${host.loadAvgAtStart.join(" ")} at start, ${results.machine.loadAvgAtEnd.join(" ")} at end (shared machine)`);
console.log("");
console.log(formatTable(rows));
for (const e of errors) console.log(`ERROR in ${e.section}: ${e.error}`);
console.log(`\nresults: ${out}`);
process.exit(errors.length ? 1 : 0);
