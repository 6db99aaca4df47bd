/**
 * Leaf nodes: a hub and two edge boxes, each a compiled unibus. Edges dial
 * the hub over TLS (verifying the hub's CA) and sign in as their own leaf
 * users. A message from edge 1 reaches a subscriber on edge 2 via the hub;
 * with the hub stopped each edge keeps serving local pub/sub; when the hub
 * returns, cross-edge traffic resumes without touching the edges.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const EDGE1_SECRET = "edge-one-leaf-secret-77";
const EDGE2_SECRET = "edge-two-leaf-secret-88";

const dir = tempDir("unibus-leaf-");
const procs: RunningUnibus[] = [];
const conns: NatsConnection[] = [];
let hubConfig = "";
let hub: RunningUnibus;
let edge1: NatsConnection;
let edge2: NatsConnection;
const edgeNodes: RunningUnibus[] = [];

function start(config: string, env: Record<string, string> = {}): RunningUnibus {
  const p = new RunningUnibus(["--config", config], env);
  procs.push(p);
  return p;
}

async function ports() {
  return { client: await freePort(), monitor: await freePort(), admin: await freePort() };
}

function base(name: string, p: { client: number; monitor: number; admin: number }): string {
  return `[node]\nname = "${name}"\ndata_dir = "data-${name}"\n[client]\nlisten = "127.0.0.1:${p.client}"\n[monitor]\nlisten = "127.0.0.1:${p.monitor}"\n[admin]\nlisten = "127.0.0.1:${p.admin}"\n`;
}

/** crossEdge publishes on edge 1 until edge 2's subscriber sees a message; returns how long it took. */
async function crossEdge(subject: string, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  const got: string[] = [];
  const sub = edge2.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
  await edge2.flush();
  try {
    await waitFor(`${subject} from edge 1 at edge 2`, async () => {
      edge1.publish(subject, "ping");
      await edge1.flush();
      await Bun.sleep(100);
      return got.length > 0;
    }, timeoutMs, 50);
  } finally {
    sub.unsubscribe();
  }
  return Date.now() - t0;
}

async function localRoundTrip(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1 });
  nc.publish(subject, "local");
  for await (const m of sub) expect(m.string()).toBe("local");
}

beforeAll(async () => {
  const ca = await makeCaDir(dir.path, "ca");
  writeFileSync(join(dir.path, "edge-1.secret"), EDGE1_SECRET, { mode: 0o600 });
  const leafPort = await freePort();
  hubConfig = writeConfig(dir.path, `${base("hub", await ports())}
[tls]
ca_cert = "${ca.cert}"
ca_key = "${ca.key}"
client_tls = false
[leafnodes]
listen = "127.0.0.1:${leafPort}"
[[leafnodes.users]]
user = "edge-1"
password_file = "edge-1.secret"
[[leafnodes.users]]
user = "edge-2"
password_env = "UNIBUS_TEST_EDGE2_SECRET"
`, "hub.toml");
  hub = start(hubConfig, { UNIBUS_TEST_EDGE2_SECRET: EDGE2_SECRET });
  const edgePorts = [await ports(), await ports()];
  const edgeConfigs = [
    writeConfig(dir.path, `${base("edge-1", edgePorts[0]!)}
[[leafnodes.remotes]]
url = "nats-leaf://127.0.0.1:${leafPort}"
user = "edge-1"
secret_file = "edge-1.secret"
ca_file = "${ca.cert}"
`, "edge-1.toml"),
    writeConfig(dir.path, `${base("edge-2", edgePorts[1]!)}
[[leafnodes.remotes]]
url = "nats-leaf://127.0.0.1:${leafPort}"
user = "edge-2"
secret_env = "UNIBUS_TEST_EDGE2_SECRET"
ca_file = "${ca.cert}"
`, "edge-2.toml"),
  ];
  await hub.ready();
  for (const c of edgeConfigs) edgeNodes.push(start(c, { UNIBUS_TEST_EDGE2_SECRET: EDGE2_SECRET }));
  for (const e of edgeNodes) await e.ready();
  edge1 = await connect({ servers: `127.0.0.1:${edgePorts[0]!.client}`, timeout: 5_000 });
  edge2 = await connect({ servers: `127.0.0.1:${edgePorts[1]!.client}`, timeout: 5_000 });
  conns.push(edge1, edge2);
}, 240_000); // above the sum of its waits (three 60 s readiness waits): a slow start fails naming the wait, not as an "(unnamed)" hook timeout

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await Promise.all(procs.map((p) => p.stop())); // each SIGKILLed after 60 s at most: together well inside the hook's limit
  if (process.env.UNIBUS_TEST_SHOW_LOGS) for (const p of procs) console.log(p.log);
  dir[Symbol.dispose]();
});

describe("edge boxes hang off a hub through leaf nodes", () => {
  test("a message published on edge 1 reaches a subscriber on edge 2 via the hub", async () => {
    const ms = await crossEdge("fleet.hello");
    console.log(`leaf: first cross-edge delivery after ${ms} ms`);
    expect(hub.log).not.toMatch(/level=error/);
  });

  test("with the hub stopped, each edge still serves local pub/sub", async () => {
    expect(await hub.stop("SIGTERM")).toBe(0);
    await localRoundTrip(edge1, "local.edge1");
    await localRoundTrip(edge2, "local.edge2");
    // and nothing crosses while the hub is away
    const got: string[] = [];
    const sub = edge2.subscribe("fleet.offline", { callback: (_e, m) => void got.push(m.string()) });
    await edge2.flush();
    edge1.publish("fleet.offline", "lost");
    await edge1.flush();
    await Bun.sleep(500);
    sub.unsubscribe();
    expect(got).toEqual([]);
  });

  test("after the hub returns, cross-edge traffic resumes without restarting the edges", async () => {
    const edgePids = edgeNodes.map((e) => e.proc.pid);
    hub = start(hubConfig, { UNIBUS_TEST_EDGE2_SECRET: EDGE2_SECRET });
    await hub.ready();
    const ms = await crossEdge("fleet.back");
    console.log(`leaf: cross-edge delivery resumed ${ms} ms after the hub was ready`);
    expect(edgeNodes.map((e) => e.proc.pid)).toEqual(edgePids);
    for (const e of edgeNodes) expect(e.proc.exitCode).toBeNull();
    // and the reverse direction
    const got: string[] = [];
    const sub = edge1.subscribe("fleet.reverse", { callback: (_e, m) => void got.push(m.string()) });
    await edge1.flush();
    await waitFor("edge 2 to edge 1", async () => {
      edge2.publish("fleet.reverse", "back");
      await edge2.flush();
      await Bun.sleep(100);
      return got.length > 0;
    }, 15_000, 50);
    sub.unsubscribe();
  });

  test("leaf secrets stay out of logs and config check; the hub's rendered config holding them is 0600", async () => {
    const hubRenderedFile = join(dir.path, "data-hub", "nats-server.conf");
    const hubRendered = readFileSync(hubRenderedFile, "utf8");
    // Edge secrets reach nats-server as they are (no hash per edge at start), so only its owner may read the file.
    expect(statSync(hubRenderedFile).mode & 0o077).toBe(0);
    expect(hubRendered).toContain('"leafnodes"');
    expect(hubRendered).toMatch(/"cert_file": ".*data-hub\/tls\//);
    const check = await runUnibus(["config", "check", "--config", join(dir.path, "edge-2.toml")], { env: { UNIBUS_TEST_EDGE2_SECRET: EDGE2_SECRET } });
    expect(check.code).toBe(0);
    for (const secret of [EDGE1_SECRET, EDGE2_SECRET]) {
      expect(check.stdout).not.toContain(secret);
      for (const p of procs) expect(p.log).not.toContain(secret);
    }
    const hubCheck = await runUnibus(["config", "check", "--config", hubConfig], { env: { UNIBUS_TEST_EDGE2_SECRET: EDGE2_SECRET } });
    expect(hubCheck.stdout).toMatch(/#\s+leafnodes\s+127\.0\.0\.1:\d+\s+this host only\s+yes\s+users\(2\)/);
  });
});
