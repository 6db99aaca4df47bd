/**
 * fleet.ts measures an edge fleet on loopback: a 3-node hub (mutual-TLS
 * routes, a TLS leaf port, edges signing in with the shared leaf secret) and
 * unibus edges whose one uplink lists every hub node. Per side (unibus, and
 * bare nats-server running the configs unibus rendered, fresh stores): the
 * first SMALL edges are spawned at once (spawn → all on the hub), then
 * the rest up to LARGE; with each size connected it reads every process's
 * RSS and the hub's CPU over a quiet window; then the hub node holding most
 * edges is SIGKILLed (a unibus node with its nats-server child, as a power
 * cut) and the time until every edge is back on the two survivors is taken.
 * The edges share this host's cores, so the connect times include starting
 * that many processes here; on a real fleet each edge has its own box.
 */
import { chmodSync, linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, writeNodeToml, type BenchContext } from "./_context.ts";
import { bareConfigFrom, cpuTicks, firstRoundTrip, natsBinaryIn, natsChildOf, rssKiB, runUnibusCommand, startBare, startUnibus, stop, type Proc } from "./_servers.ts";
import { MiB, row, summarize, type Row } from "./_stats.ts";

const KiB_PER_MiB = MiB / 1024;
const HUB_NAMES = ["hub-a", "hub-b", "hub-c"];
const CONNECT_TIMEOUT_MS = 180_000;

interface Node { name: string; client: number; monitor: number; config: string; dataDir: string; bareDir: string }
interface HubNode extends Node { route: number; leaf: number }

/** Sizes are the fleet sizes of a run: the 12 and 48, or 2 and 4 in quick mode. */
function sizes(ctx: BenchContext): { small: number; large: number; settleMs: number; windowMs: number } {
  return ctx.quick ? { small: 2, large: 4, settleMs: 500, windowMs: 2_000 } : { small: 12, large: 48, settleMs: 5_000, windowMs: 20_000 };
}

async function writeFleet(ctx: BenchContext, edgeCount: number): Promise<{ hub: HubNode[]; edges: Node[] }> {
  const base = join(ctx.dir, "fleet");
  mkdirSync(base, { recursive: true });
  const secret = (name: string) => {
    const file = join(base, name);
    writeFileSync(file, `bench-${crypto.randomUUID()}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  };
  const routeSecret = secret("cluster.secret");
  const leafSecret = secret("leaf.secret");
  const ports: { name: string; client: number; monitor: number; route: number; leaf: number }[] = [];
  for (const name of HUB_NAMES) ports.push({ name, client: await freePort(), monitor: await freePort(), route: await freePort(), leaf: await freePort() });
  const peers = ports.map((n) => `"127.0.0.1:${n.route}"`).join(", ");
  const hub: HubNode[] = [];
  for (const n of ports) {
    const extra = `[cluster]\nname = "benchhub"\nlisten = "127.0.0.1:${n.route}"\npeers = [${peers}]\nsecret_file = "${routeSecret}"\n[leafnodes]\nlisten = "127.0.0.1:${n.leaf}"\nsecret_file = "${leafSecret}"`;
    const { file, dataDir } = await writeNodeToml(ctx, join(base, n.name), { name: n.name, client: n.client, monitor: n.monitor, tls: true, extra });
    hub.push({ ...n, config: file, dataDir, bareDir: join(base, `${n.name}-bare`) });
  }
  const urls = ports.map((n) => `"nats-leaf://127.0.0.1:${n.leaf}"`).join(", ");
  const edges: Node[] = [];
  for (let i = 1; i <= edgeCount; i++) {
    const name = `edge-${String(i).padStart(2, "0")}`;
    const client = await freePort();
    const monitor = await freePort();
    const extra = `[leafnodes]\n[[leafnodes.remotes]]\nurls = [${urls}]\nuser = "leaf"\nsecret_file = "${leafSecret}"\nca_file = "${ctx.ca.cert}"`;
    const { file, dataDir } = await writeNodeToml(ctx, join(base, name), { name, client, monitor, extra });
    edges.push({ name, client, monitor, config: file, dataDir, bareDir: join(base, `${name}-bare`) });
  }
  return { hub, edges };
}

/** leafCount is how many leaf connections a hub node's monitor lists (0 when it does not answer). */
async function leafCount(monitor: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitor}/leafz`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { leafnodes?: number }).leafnodes ?? 0;
  } catch {
    return 0;
  }
}

/** connected waits until the hub nodes (all but `except`) list `want` leaf connections together; returns that moment and the spread. */
async function connected(hub: HubNode[], want: number, procs: Proc[], except = -1): Promise<{ at: number; perNode: number[] }> {
  const until = performance.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    const perNode = await Promise.all(hub.map((h, i) => (i === except ? 0 : leafCount(h.monitor))));
    if (perNode.reduce((a, b) => a + b, 0) >= want) return { at: performance.now(), perNode };
    const dead = procs.find((p, i) => i !== except && p.proc.exitCode !== null);
    if (dead) throw new Error(`a ${dead.kind} process exited (${dead.proc.exitCode}) while the fleet connected; see ${dead.logFile}`);
    if (performance.now() > until) throw new Error(`only ${perNode.join("+")} of ${want} edges on the hub after ${CONNECT_TIMEOUT_MS / 1000} s`);
    await Bun.sleep(20);
  }
}

/** pidsOf is a process and, for unibus, its nats-server child. */
function pidsOf(p: Proc): number[] {
  return p.kind === "unibus" ? [p.pid, natsChildOf(p.pid)] : [p.pid];
}

const rssMiB = (p: Proc) => pidsOf(p).reduce((sum, pid) => sum + rssKiB(pid), 0) / KiB_PER_MiB;

/** hubCpu is the hub's CPU over a quiet window, in % of one core (all three nodes, unibus and nats-server). */
async function hubCpu(hub: Proc[], windowMs: number): Promise<number> {
  const pids = hub.flatMap(pidsOf);
  const t0 = pids.map(cpuTicks);
  const w0 = performance.now();
  await Bun.sleep(windowMs);
  const ticks = pids.reduce((sum, pid, i) => sum + cpuTicks(pid) - t0[i]!, 0);
  return (ticks * 10 * 100) / (performance.now() - w0);
}

/** Sample is one side's numbers from one pass. */
interface Sample { connectSmall: number; connectLarge: number; edgeRss: number[]; edgeNatsRss: number[]; hubRssSmall: number; hubRssLarge: number; cpuSmall: number; cpuLarge: number; failover: number; spread: string }

/** pass runs one side: hub up, SMALL edges, the rest up to LARGE, then a hub node's SIGKILL. */
async function pass(ctx: BenchContext, side: "unibus" | "bare", hub: HubNode[], edges: Node[], logs: string, tag: string, start: (n: Node, log: string) => Proc): Promise<Sample> {
  const { small, large, settleMs, windowMs } = sizes(ctx);
  const hubProcs = hub.map((h) => start(h, join(logs, `${tag}-${h.name}.log`)));
  const edgeProcs: Proc[] = [];
  try {
    await Promise.all(hubProcs.map((p, i) => firstRoundTrip(p, hub[i]!.client, ctx.ca.cert)));
    ctx.say(`fleet: ${side} hub up; spawning ${small} edges`);
    const t0 = performance.now();
    for (const e of edges.slice(0, small)) edgeProcs.push(start(e, join(logs, `${tag}-${e.name}.log`)));
    const c1 = await connected(hub, small, [...hubProcs, ...edgeProcs]);
    const connectSmall = c1.at - t0;
    await Bun.sleep(settleMs);
    const edgeRss = edgeProcs.map(rssMiB);
    const edgeNatsRss = side === "unibus" ? edgeProcs.map((p) => rssKiB(natsChildOf(p.pid)) / KiB_PER_MiB) : [];
    const hubRssSmall = hubProcs.reduce((s, p) => s + rssMiB(p), 0);
    const cpuSmall = await hubCpu(hubProcs, windowMs);
    ctx.say(`fleet: ${side} ${small} edges on the hub in ${connectSmall.toFixed(0)} ms; spawning ${large - small} more`);
    const t1 = performance.now();
    for (const e of edges.slice(small, large)) edgeProcs.push(start(e, join(logs, `${tag}-${e.name}.log`)));
    const c2 = await connected(hub, large, [...hubProcs, ...edgeProcs]);
    const connectLarge = c2.at - t1;
    await Bun.sleep(settleMs);
    const hubRssLarge = hubProcs.reduce((s, p) => s + rssMiB(p), 0);
    const cpuLarge = await hubCpu(hubProcs, windowMs);
    const perNode = await Promise.all(hub.map((h) => leafCount(h.monitor)));
    const victim = perNode.indexOf(Math.max(...perNode));
    ctx.say(`fleet: ${side} ${large} edges on the hub (${perNode.join("/")}); SIGKILL of ${hub[victim]!.name}`);
    const pids = pidsOf(hubProcs[victim]!);
    const killedAt = performance.now();
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const back = await connected(hub, large, [...hubProcs, ...edgeProcs], victim);
    return {
      connectSmall, connectLarge, edgeRss, edgeNatsRss, hubRssSmall, hubRssLarge, cpuSmall, cpuLarge, failover: back.at - killedAt,
      spread: `${perNode.join("/")} before, ${back.perNode.filter((_, i) => i !== victim).join("/")} after`,
    };
  } finally {
    await Promise.all([...edgeProcs, ...hubProcs].map((p) => stop(p)));
  }
}

/** measureFleet returns the fleet rows. */
export async function measureFleet(ctx: BenchContext): Promise<Row[]> {
  const { small, large, windowMs } = sizes(ctx);
  const { hub, edges } = await writeFleet(ctx, large);
  const check = runUnibusCommand(["config", "check", "--config", edges[0]!.config]);
  if (check.code !== 0) throw new Error(`the generated edge config is invalid: ${check.out.trim().split("\n")[0]}`);
  const logs = join(ctx.dir, "fleet", "logs");
  mkdirSync(logs, { recursive: true });
  // Prime: the hub extracts nats-server and issues its certificates; each edge gets that binary as a hard link
  // (what it would extract, byte for byte), so the samples time the fleet, not 48 extractions on one disk.
  ctx.say("fleet: priming the hub");
  const prime = hub.map((h) => startUnibus(h.config, join(logs, `prime-${h.name}.log`)));
  try {
    await Promise.all(prime.map((p, i) => firstRoundTrip(p, hub[i]!.client, ctx.ca.cert)));
  } finally {
    await Promise.all(prime.map((p) => stop(p)));
  }
  const binary = natsBinaryIn(hub[0]!.dataDir);
  for (const e of edges) {
    mkdirSync(join(e.dataDir, "bin"), { recursive: true });
    linkSync(binary, join(e.dataDir, "bin", binary.split("/").at(-1)!));
  }
  const reps = ctx.quick ? 1 : Math.min(ctx.reps, 2);
  const u: Sample[] = [];
  const b: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    ctx.say(`fleet: repetition ${i + 1}/${reps}`);
    for (const n of [...hub, ...edges]) rmSync(join(n.dataDir, "jetstream"), { recursive: true, force: true });
    u.push(await pass(ctx, "unibus", hub, edges, logs, `u-${i}`, (n, log) => startUnibus(n.config, log)));
    b.push(await pass(ctx, "bare", hub, edges, logs, `b-${i}`, (n, log) => {
      rmSync(n.bareDir, { recursive: true, force: true });
      return startBare(binary, bareConfigFrom(n.dataDir, n.bareDir), log);
    }));
  }
  const pick = (s: Sample[], k: keyof Sample) => s.map((x) => x[k] as number);
  const natsPart = summarize(u.flatMap((x) => x.edgeNatsRss)).median;
  return [
    row({
      id: "fleet_edge_rss", name: `fleet: RSS per edge (${small} edges connected)`, unit: "MiB", better: "lower", unibus: u.flatMap((x) => x.edgeRss), bare: b.flatMap((x) => x.edgeRss),
      note: `unibus = the unibus process + its nats-server child (of it nats-server median ${natsPart.toFixed(1)} MiB); JetStream on, one uplink listing the 3 hub nodes, TLS to the hub; every edge's sample`,
    }),
    row({ id: "fleet_hub_rss_small", name: `fleet: hub RSS, 3 nodes, ${small} edges`, unit: "MiB", better: "lower", unibus: pick(u, "hubRssSmall"), bare: pick(b, "hubRssSmall"), note: "sum of the three hub nodes (unibus: each with its nats-server child)" }),
    row({ id: "fleet_hub_rss_large", name: `fleet: hub RSS, 3 nodes, ${large} edges`, unit: "MiB", better: "lower", unibus: pick(u, "hubRssLarge"), bare: pick(b, "hubRssLarge") }),
    row({
      id: "fleet_hub_cpu_small", name: `fleet: hub CPU, ${small} edges idle`, unit: "% core", better: "lower", unibus: pick(u, "cpuSmall"), bare: pick(b, "cpuSmall"),
      note: `all three hub nodes' processes over ${windowMs / 1000} s with the edges connected and no traffic: unibus's fleet view (connz every 5 s), health and the edges' verdict reports beside nats-server's pings`,
    }),
    row({ id: "fleet_hub_cpu_large", name: `fleet: hub CPU, ${large} edges idle`, unit: "% core", better: "lower", unibus: pick(u, "cpuLarge"), bare: pick(b, "cpuLarge") }),
    row({
      id: "fleet_connect_small", name: `fleet: spawn ${small} edges → all on the hub`, unit: "ms", better: "lower", unibus: pick(u, "connectSmall"), bare: pick(b, "connectSmall"),
      note: "the edges start on this host at once (their start shares its cores), the hub already up; until the hub nodes' /leafz list them all",
    }),
    row({ id: "fleet_connect_large", name: `fleet: spawn ${large - small} more edges → all ${large} on the hub`, unit: "ms", better: "lower", unibus: pick(u, "connectLarge"), bare: pick(b, "connectLarge") }),
    row({
      id: "fleet_failover", name: `fleet: SIGKILL hub node → all ${large} edges on the survivors`, unit: "ms", better: "lower", unibus: pick(u, "failover"), bare: pick(b, "failover"),
      note: `the hub node with most edges, killed with its nats-server child (power cut); edges redial every 1 s (leaf reconnect) with nats's jitter; edges per hub node: unibus ${u.map((x) => x.spread).join("; ")}; bare ${b.map((x) => x.spread).join("; ")}`,
    }),
  ];
}
