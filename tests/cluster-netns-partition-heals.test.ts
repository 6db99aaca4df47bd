/**
 * A home lab in miniature: three network namespaces joined by a bridge, each
 * running unibus on its own address with the configs `unibus init cluster`
 * generated, unchanged. The cluster forms over mutual TLS routes; cutting one
 * node's link leaves the other two serving R3 writes; restoring the link
 * heals the cluster without operator action.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BIN_X64, ROOT, prerequisite, runUnibus, stopProcess, tempDir, waitFor } from "./_helpers.ts";
import { tearDownOnSignal } from "./_teardown.ts";

const RUN = Math.random().toString(16).slice(2, 6);
const OCTET = 1 + Math.floor(Math.random() * 250);
const SUBNET = `10.99.${OCTET}`;
const BRIDGE = `ubr${RUN}`;
const NAMES = ["ns-1", "ns-2", "ns-3"];
const nodes = NAMES.map((name, i) => ({
  name,
  ns: `unibus-${RUN}-${i + 1}`,
  hostVeth: `ub${RUN}h${i + 1}`,
  nsVeth: `ub${RUN}n${i + 1}`,
  ip: `${SUBNET}.${i + 1}`,
  dir: "",
  config: "",
  proc: undefined as Subprocess<"ignore", "pipe", "pipe"> | undefined,
  log: "",
}));
const CLIENT = join(ROOT, "tests", "cluster-netns-client.ts");
const dir = tempDir("unibus-netns-");
const timings: Record<string, number> = {};
let created = false;
let forgetTearDown: (() => void) | undefined;

function sh(cmd: string[], allowFail = false): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = p.stdout.toString() + p.stderr.toString();
  if (p.exitCode !== 0 && !allowFail) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${out}`);
  return { code: p.exitCode ?? -1, out };
}

function netnsAvailable(): boolean {
  const probe = `unibus-${RUN}-probe`;
  const ok = sh(["ip", "netns", "add", probe], true).code === 0;
  if (ok) sh(["ip", "netns", "del", probe], true);
  return ok;
}
const ready = prerequisite(netnsAvailable(), "ip netns (root and iproute2) to build the three-namespace home lab");

/** statusOf runs `unibus status --json` inside a node's namespace (its monitoring is on that loopback). */
async function statusOf(node: (typeof nodes)[number]) {
  const p = Bun.spawn(["ip", "netns", "exec", node.ns, BIN_X64, "status", "--json", "--config", node.config], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, status: out.trim() ? JSON.parse(out) : undefined };
}

/** client runs cluster-netns-client.ts inside a node's namespace. */
async function client(node: (typeof nodes)[number], ...args: string[]) {
  const p = Bun.spawn(["ip", "netns", "exec", node.ns, process.execPath, CLIENT, args[0]!, join(node.dir, "certs", "ca.pem"), ...args.slice(1)], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`client ${args.join(" ")} in ${node.ns} failed: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** tearDown stops the nodes and removes the namespaces and the bridge: from afterAll, or on a signal (tests/_teardown.ts). */
async function tearDown(): Promise<void> {
  await Promise.all(nodes.map((n) => stopProcess(n.proc)));
  if (created) {
    for (const n of nodes) sh(["ip", "netns", "del", n.ns], true);
    sh(["ip", "link", "del", BRIDGE], true);
  }
}

beforeAll(async () => {
  if (!ready) return;
  created = true;
  forgetTearDown = tearDownOnSignal(`the namespaces and bridge ${BRIDGE}`, tearDown);
  sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  sh(["ip", "addr", "add", `${SUBNET}.254/24`, "dev", BRIDGE]);
  sh(["ip", "link", "set", BRIDGE, "up"]);
  for (const n of nodes) {
    sh(["ip", "netns", "add", n.ns]);
    sh(["ip", "link", "add", n.hostVeth, "type", "veth", "peer", "name", n.nsVeth]);
    sh(["ip", "link", "set", n.nsVeth, "netns", n.ns]);
    sh(["ip", "link", "set", n.hostVeth, "master", BRIDGE]);
    sh(["ip", "link", "set", n.hostVeth, "up"]);
    sh(["ip", "netns", "exec", n.ns, "ip", "addr", "add", `${n.ip}/24`, "dev", n.nsVeth]);
    sh(["ip", "netns", "exec", n.ns, "ip", "link", "set", n.nsVeth, "up"]);
    sh(["ip", "netns", "exec", n.ns, "ip", "link", "set", "lo", "up"]);
  }
  // The generated files, deployed the way a home lab does: one folder per box with certs/ and the secret beside the config.
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "nslab", ...nodes.flatMap((n) => ["--node", `${n.name}=${n.ip}`]), "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  for (const n of nodes) {
    n.dir = join(dir.path, n.name);
    mkdirSync(n.dir, { recursive: true });
    cpSync(join(gen, "certs"), join(n.dir, "certs"), { recursive: true });
    cpSync(join(gen, "cluster.secret"), join(n.dir, "cluster.secret"));
    cpSync(join(gen, `${n.name}.toml`), join(n.dir, `${n.name}.toml`));
    n.config = join(n.dir, `${n.name}.toml`);
  }
});

afterAll(async () => {
  await tearDown();
  forgetTearDown?.();
  console.log(`cluster timings (netns): ${JSON.stringify(timings)}`);
  dir[Symbol.dispose]();
}, 60_000); // clustered nodes stop in parallel, each SIGKILLed after STOP_GRACE_MS at most

describe.if(ready)("a three-namespace home lab from `unibus init cluster`", () => {
  test("forms one cluster over the bridge: every node reports both peers and a meta leader", async () => {
    const t0 = performance.now();
    for (const n of nodes) {
      n.proc = Bun.spawn(["ip", "netns", "exec", n.ns, BIN_X64, "--config", n.config], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const pump = async (s: ReadableStream<Uint8Array>) => { for await (const c of s) n.log += new TextDecoder().decode(c); };
      void pump(n.proc.stdout);
      void pump(n.proc.stderr);
    }
    await waitFor("all three nodes healthy (unibus status exit 0)", async () => (await Promise.all(nodes.map(statusOf))).every((s) => s.code === 0), 90_000, 250);
    timings.formation_ms = Math.round(performance.now() - t0);
    const { status } = await statusOf(nodes[0]!);
    expect(status.routes.filter((r: { connected: boolean }) => r.connected).map((r: { peer: string }) => r.peer).sort()).toEqual([`${nodes[1]!.ip}:6222`, `${nodes[2]!.ip}:6222`]);
    expect(status.routes.map((r: { peerName: string }) => r.peerName).sort()).toEqual(["ns-2", "ns-3"]);
    expect(NAMES).toContain(status.metaLeader);
    expect(nodes.every((n) => n.log.includes("issued node certificate"))).toBe(true);
  });

  test("cutting one node's link leaves the other two serving R3 writes", async () => {
    expect((await client(nodes[0]!, "setup", "LAB")).ok).toBe(true);
    expect((await client(nodes[0]!, "publish", "LAB", "20")).acked).toBe(20);
    sh(["ip", "link", "set", nodes[2]!.hostVeth, "down"]);
    const tCut = performance.now();
    const during = await client(nodes[0]!, "publish", "LAB", "30");
    timings.writes_while_cut_ms = Math.round(performance.now() - tCut);
    expect(during.acked).toBe(30);
    await waitFor("node 1 to report node 3 missing", async () => {
      const s = await statusOf(nodes[0]!);
      return s.code === 3 && s.status?.missingPeers?.join() === `${nodes[2]!.ip}:6222`;
    }, 60_000, 250);
    timings.cut_detected_ms = Math.round(performance.now() - tCut);
    const info = await client(nodes[1]!, "info", "LAB");
    expect(info.messages).toBe(50);
  });

  test("restoring the link heals the cluster without operator action; the cut node catches up", async () => {
    sh(["ip", "link", "set", nodes[2]!.hostVeth, "up"]);
    const tHeal = performance.now();
    await waitFor("all three nodes healthy again", async () => (await Promise.all(nodes.map(statusOf))).every((s) => s.code === 0), 120_000, 250);
    timings.heal_ms = Math.round(performance.now() - tHeal);
    // Healthy means it: R3 writes through the healed node go through at once, without a stall.
    const right = await client(nodes[2]!, "publish", "LAB", "10");
    timings.writes_after_healthy_ms = right.ms;
    expect(right.acked).toBe(10);
    // Known gap, narrowed: before status asked the stream leaders, writes through the healed node
    // stalled about 3.5 s after "healthy" in 2 of 4 runs; since status waits until every leader
    // reports every replica current, 2 of 8 runs still had 0.9-1.5 s of fast-failing retries (100 ms
    // apart, so refusals, not timeouts: most likely the stream's subject interest not yet re-sent over
    // the new routes). Bounded here; the client now reports why each attempt failed (errs).
    if (right.retries) console.log(`known gap: ${right.retries} retries (${right.ms} ms) for writes through the healed node after status said healthy: ${JSON.stringify(right.errs)}`);
    expect(right.ms).toBeLessThan(15_000);
    await waitFor("node 3 to hold all 60 messages", async () => {
      const [mine, theirs] = await Promise.all([statusOf(nodes[2]!), statusOf(nodes[0]!)]);
      return mine.status?.jetstream?.messages === theirs.status?.jetstream?.messages && mine.status?.jetstream?.messages >= 60;
    }, 60_000, 250);
    timings.heal_and_catch_up_ms = Math.round(performance.now() - tHeal);
    // The stream's own view settles a moment after the server totals match: poll it, then assert.
    let info = await client(nodes[2]!, "info", "LAB");
    const until = performance.now() + 30_000;
    while (!(info.messages === 60 && info.replicas.every((r: { current: boolean }) => r.current)) && performance.now() < until) {
      await Bun.sleep(500);
      info = await client(nodes[2]!, "info", "LAB");
    }
    expect(info.messages).toBe(60);
    expect(info.replicas.every((r: { current: boolean }) => r.current)).toBe(true);
    const secret = (await Bun.file(join(nodes[0]!.dir, "cluster.secret")).text()).trim();
    for (const n of nodes) expect(n.log).not.toContain(secret);
  });
});
