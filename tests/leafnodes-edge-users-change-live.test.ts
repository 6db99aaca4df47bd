/**
 * Edge users change on a hub without a restart and without dropping the
 * other edges: adding a [[leafnodes.users]] entry and `unibus reload` lets
 * the new edge in while the connected edge keeps its leaf connection (same
 * connection id); removing an edge's user disconnects that edge only. An
 * edge's credentials open leaf connections only, never the client port, and
 * the hub's anonymous loopback clients keep working throughout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { monitorJson } from "./cluster-fixtures.ts";

const dir = tempDir("unibus-leaf-live-");
const SECRETS = { "edge-one": "edge-one-secret-4711", "edge-two": "edge-two-secret-0815" };
let hubConfig = "";
let hubClient = 0;
let hubMonitor = 0;
let leafPort = 0;
let hub: RunningUnibus;
const edges: Record<string, { proc?: RunningUnibus; client: number; config: string }> = {};
const open: NatsConnection[] = [];

interface Leafz { leafs: { id: number; name: string }[] | null }

function hubToml(users: string[]): string {
  const entries = users.map((u) => `[[leafnodes.users]]\nuser = "${u}"\npassword_file = "${u}.hub-pass"\n`).join("");
  return nodeToml({ name: "hub", client: hubClient, monitor: hubMonitor, extra: `[leafnodes]\nlisten = "127.0.0.1:${leafPort}"\n${entries}` });
}

async function leafs(): Promise<{ id: number; name: string }[]> {
  return (await monitorJson<Leafz>(hubMonitor, "leafz"))?.leafs ?? [];
}

async function reloadHub(users: string[]): Promise<void> {
  writeFileSync(hubConfig, hubToml(users));
  const r = await runUnibus(["reload", "--config", hubConfig], { timeoutMs: 90_000 });
  expect(`${r.code} ${r.stderr}`).toBe("0 ");
}

beforeAll(async () => {
  hubClient = await freePort();
  hubMonitor = await freePort();
  leafPort = await freePort();
  for (const [name, secret] of Object.entries(SECRETS)) {
    writeFileSync(join(dir.path, `${name}.hub-pass`), `${secret}\n`, { mode: 0o600 });
    writeFileSync(join(dir.path, `${name}.secret`), `${secret}\n`, { mode: 0o600 });
    const client = await freePort();
    const config = writeConfig(dir.path, nodeToml({
      name, client, monitor: await freePort(),
      extra: `[leafnodes]\n[[leafnodes.remotes]]\nurl = "nats-leaf://127.0.0.1:${leafPort}"\nuser = "${name}"\nsecret_file = "${name}.secret"\n`,
    }).replace('data_dir = "data"', `data_dir = "${name}-data"`), `${name}.toml`);
    edges[name] = { client, config };
  }
  hubConfig = writeConfig(dir.path, hubToml(["edge-one"]), "hub.toml");
  hub = new RunningUnibus(["--config", hubConfig]);
  await hub.ready();
  const one = edges["edge-one"]!;
  one.proc = new RunningUnibus(["--config", one.config]);
  await one.proc.ready();
  await waitFor("edge-one's leaf connection", async () => (await leafs()).some((l) => l.name === "edge-one"), 30_000, 200);
}, 180_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => {})));
  await Promise.all(Object.values(edges).map((e) => e.proc?.stop()));
  await hub?.stop();
  dir[Symbol.dispose]();
});

describe("edge users on a hub change live", () => {
  test("an edge's credentials open leaf connections only; anonymous loopback clients still work on the hub", async () => {
    await expect(connect({ servers: `127.0.0.1:${hubClient}`, user: "edge-one", pass: SECRETS["edge-one"], timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication/i);
    const anon = await connect({ servers: `127.0.0.1:${hubClient}`, timeout: 5_000, reconnect: false });
    open.push(anon);
    expect(anon.isClosed()).toBe(false);
  });

  test("adding edge-two's user: reload succeeds, edge-one keeps its connection, edge-two joins and traffic crosses the hub", async () => {
    const before = (await leafs()).find((l) => l.name === "edge-one")!;
    await reloadHub(["edge-one", "edge-two"]);
    const two = edges["edge-two"]!;
    two.proc = new RunningUnibus(["--config", two.config]);
    await two.proc.ready();
    await waitFor("edge-two's leaf connection", async () => (await leafs()).some((l) => l.name === "edge-two"), 30_000, 200);
    expect((await leafs()).find((l) => l.name === "edge-one")?.id).toBe(before.id);

    const sub = await connect({ servers: `127.0.0.1:${edges["edge-one"]!.client}` });
    const pub = await connect({ servers: `127.0.0.1:${two.client}` });
    open.push(sub, pub);
    const got: string[] = [];
    const s = sub.subscribe("fleet.>");
    void (async () => { for await (const m of s) got.push(m.string()); })();
    await sub.flush();
    await waitFor("a message from edge-two to edge-one through the hub", async () => {
      pub.publish("fleet.hello", "from edge-two");
      return got.includes("from edge-two");
    }, 30_000, 250);
  }, 120_000);

  test("removing edge-one's user disconnects edge-one only", async () => {
    const two = (await leafs()).find((l) => l.name === "edge-two")!;
    await reloadHub(["edge-two"]);
    await waitFor("edge-one to be dropped", async () => !(await leafs()).some((l) => l.name === "edge-one"), 30_000, 250);
    await Bun.sleep(2_000); // edge-one redials every second: it must stay out
    const now = await leafs();
    expect(now.some((l) => l.name === "edge-one")).toBe(false);
    expect(now.find((l) => l.name === "edge-two")?.id).toBe(two.id);
  }, 60_000);
});
