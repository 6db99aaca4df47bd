/**
 * cluster.ts measures a 3-node loopback cluster: formation (spawn of the
 * three processes → all three report the same JetStream meta leader) and
 * failover (SIGKILL of an R3 stream's leader → the first acked publish
 * through a surviving node). unibus nodes are killed as a power cut would:
 * the unibus process and its nats-server child at the same moment. Bare runs
 * the three configs unibus rendered, with fresh store dirs.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, writeNodeToml, type BenchContext } from "./_context.ts";
import { bareConfigFrom, clientOptions, firstRoundTrip, natsBinaryIn, natsChildOf, runUnibusCommand, startBare, startUnibus, stop, type Proc } from "./_servers.ts";
import { row, summarize, type Row } from "./_stats.ts";

interface ClusterNode { name: string; client: number; monitor: number; route: number; config: string; dataDir: string; bareDir: string }

const NAMES = ["bench-a", "bench-b", "bench-c"];
const FORM_TIMEOUT_MS = 60_000;
const FAILOVER_TIMEOUT_MS = 60_000;

async function writeCluster(ctx: BenchContext): Promise<ClusterNode[]> {
  const base = join(ctx.dir, "cluster");
  mkdirSync(base, { recursive: true });
  const secretFile = join(base, "cluster.secret");
  writeFileSync(secretFile, `bench-${crypto.randomUUID()}\n`, { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  const nodes: { name: string; client: number; monitor: number; route: number }[] = [];
  for (const name of NAMES) nodes.push({ name, client: await freePort(), monitor: await freePort(), route: await freePort() });
  const peers = nodes.map((n) => `"127.0.0.1:${n.route}"`).join(", ");
  const out: ClusterNode[] = [];
  for (const n of nodes) {
    const extra = `[cluster]\nname = "bench"\nlisten = "127.0.0.1:${n.route}"\npeers = [${peers}]\nsecret_file = "${secretFile}"`;
    const { file, dataDir } = await writeNodeToml(ctx, join(base, n.name), { name: n.name, client: n.client, monitor: n.monitor, tls: true, extra });
    out.push({ ...n, config: file, dataDir, bareDir: join(base, `${n.name}-bare`) });
  }
  return out;
}

async function metaLeader(monitor: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitor}/jsz`, { signal: AbortSignal.timeout(1_000) });
    const doc = (await res.json()) as { meta_cluster?: { leader?: string } };
    return doc.meta_cluster?.leader ?? "";
  } catch {
    return "";
  }
}

/** Formed tells when the first node named a meta leader and when all three named the same one (performance.now()). */
interface Formed { first: number; all: number }

/** formed waits until every node names the same meta leader. */
async function formed(nodes: ClusterNode[], procs: Proc[]): Promise<Formed> {
  const until = performance.now() + FORM_TIMEOUT_MS;
  let first = 0;
  for (;;) {
    const dead = procs.find((p) => p.proc.exitCode !== null);
    if (dead) throw new Error(`${dead.kind} node exited (${dead.proc.exitCode}) while the cluster formed; see ${dead.logFile}`);
    const leaders = await Promise.all(nodes.map((n) => metaLeader(n.monitor)));
    const now = performance.now();
    if (!first && leaders.some(Boolean)) first = now;
    if (leaders[0] && leaders.every((l) => l === leaders[0])) return { first, all: now };
    if (now > until) throw new Error(`no common meta leader after ${FORM_TIMEOUT_MS / 1000} s (saw ${JSON.stringify(leaders)})`);
    await Bun.sleep(10);
  }
}

/**
 * failover creates an R3 stream, SIGKILLs its leader and returns the time
 * until a publish through a surviving node is acknowledged.
 */
async function failover(ctx: BenchContext, nodes: ClusterNode[], procs: Proc[], kill: (i: number) => void): Promise<number> {
  const setup = await connect({ ...clientOptions(nodes[0]!.client, ctx.ca.cert), servers: nodes.map((n) => `tls://127.0.0.1:${n.client}`) });
  let leader = "";
  try {
    // Right after the meta leader appears the JetStream API may still time out; retry setup (it is not timed).
    const until = performance.now() + FORM_TIMEOUT_MS;
    for (;;) {
      try {
        const jsm = await jetstreamManager(setup, { timeout: 5_000 });
        await jsm.streams.add({ name: "FAILOVER", subjects: ["bench.failover"], num_replicas: 3 });
        await jetstream(setup, { timeout: 5_000 }).publish("bench.failover", "before");
        leader = (await jsm.streams.info("FAILOVER")).cluster?.leader ?? "";
        if (leader) break;
      } catch (err) {
        if (performance.now() > until) throw new Error(`could not create the R3 stream: ${(err as Error).message}`);
      }
      await Bun.sleep(200);
    }
  } finally {
    await setup.close();
  }
  const victim = nodes.findIndex((n) => n.name === leader);
  if (victim < 0) throw new Error(`stream leader ${JSON.stringify(leader)} is not one of ${NAMES.join(", ")}`);
  const survivor = nodes.find((_, i) => i !== victim)!;
  const nc = await connect({ ...clientOptions(survivor.client, ctx.ca.cert), timeout: 5_000 });
  try {
    const js = jetstream(nc, { timeout: 2_000 });
    await js.publish("bench.failover", "warm");
    const killedAt = performance.now();
    kill(victim);
    // A publish every 20 ms, each waiting up to 2 s for its ack: the first ack marks the new leader at work,
    // measured to within ~20 ms rather than to within one ack timeout.
    let ackedAt = 0;
    const inflight: Promise<unknown>[] = [];
    while (!ackedAt) {
      if (performance.now() - killedAt > FAILOVER_TIMEOUT_MS) throw new Error(`no acked publish ${FAILOVER_TIMEOUT_MS / 1000} s after killing ${leader}`);
      if (procs.some((p, i) => i !== victim && p.proc.exitCode !== null)) throw new Error("a surviving node exited");
      inflight.push(js.publish("bench.failover", "after", { timeout: 2_000 }).then(() => { ackedAt ||= performance.now(); }, () => {}));
      await Bun.sleep(20);
    }
    await Promise.all(inflight);
    return ackedAt - killedAt;
  } finally {
    await nc.close().catch(() => {});
  }
}

/** measureCluster returns the formation and failover rows; a cluster that does not form is an error of the run. */
export async function measureCluster(ctx: BenchContext): Promise<Row[]> {
  const nodes = await writeCluster(ctx);
  const check = runUnibusCommand(["config", "check", "--config", nodes[0]!.config]);
  if (check.code !== 0) throw new Error(`the generated cluster config is invalid: ${check.out.trim().split("\n")[0]}`);
  const logs = join(ctx.dir, "cluster", "logs");
  mkdirSync(logs, { recursive: true });
  const startAll = (tag: string) => nodes.map((n) => startUnibus(n.config, join(logs, `${tag}-${n.name}.log`)));
  const stopAll = (procs: Proc[]) => Promise.all(procs.map((p) => stop(p)));

  // Prime: extract nats-server and issue each node's certificate once, so the samples time clustering, not PKI.
  ctx.say("cluster: priming three unibus nodes");
  const prime = startAll("prime");
  try {
    await Promise.all(prime.map((p, i) => firstRoundTrip(p, nodes[i]!.client, ctx.ca.cert)));
    await formed(nodes, prime);
  } finally {
    await stopAll(prime);
  }
  const binary = natsBinaryIn(nodes[0]!.dataDir);

  const s = { uForm: [] as number[], bForm: [] as number[], uFail: [] as number[], bFail: [] as number[], uFirst: [] as number[], bFirst: [] as number[] };
  for (let i = 0; i < ctx.reps; i++) {
    ctx.say(`cluster: repetition ${i + 1}/${ctx.reps}`);
    // unibus: warm data dirs, fresh JetStream stores.
    for (const n of nodes) rmSync(join(n.dataDir, "jetstream"), { recursive: true, force: true });
    const u = startAll(`u-${i}`);
    try {
      const f = await formed(nodes, u);
      s.uForm.push(f.all - u[0]!.spawnedAt);
      s.uFirst.push(f.first - u[0]!.spawnedAt);
      s.uFail.push(await failover(ctx, nodes, u, (v) => {
        const child = natsChildOf(u[v]!.pid);
        u[v]!.proc.kill("SIGKILL");
        process.kill(child, "SIGKILL");
      }));
    } finally {
      await stopAll(u);
    }
    // bare: the configs unibus rendered, fresh store dirs.
    const b = nodes.map((n) => {
      rmSync(n.bareDir, { recursive: true, force: true });
      return startBare(binary, bareConfigFrom(n.dataDir, n.bareDir), join(logs, `b-${i}-${n.name}.log`));
    });
    try {
      const f = await formed(nodes, b);
      s.bForm.push(f.all - b[0]!.spawnedAt);
      s.bFirst.push(f.first - b[0]!.spawnedAt);
      s.bFail.push(await failover(ctx, nodes, b, (v) => b[v]!.proc.kill("SIGKILL")));
    } finally {
      await stopAll(b);
    }
  }
  return [
    row({
      id: "cluster_formation", name: "3-node cluster: start → meta leader", unit: "ms", better: "lower", unibus: s.uForm, bare: s.bForm,
      note: `loopback, mutual-TLS routes with route secret; warm data dirs, fresh JetStream stores; until all three name the same leader (first node to name one: unibus ${summarize(s.uFirst).median.toFixed(0)} ms, bare ${summarize(s.bFirst).median.toFixed(0)} ms, medians)`,
    }),
    row({
      id: "cluster_failover", name: "3-node cluster: SIGKILL stream leader → next acked publish", unit: "ms", better: "lower", unibus: s.uFail, bare: s.bFail,
      note: "R3 file stream; unibus leader killed with its nats-server child (power-cut); a publish through a survivor every 20 ms until the first ack",
    }),
  ];
}
