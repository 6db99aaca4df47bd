/**
 * A hub with a fleet's worth of edge secrets in files starts about as fast
 * as one with the same edges as password_hash: unibus hashes no edge secret
 * at start (nats-server gets them as they are, in its 0600 config), and an
 * edge still signs in with its file secret. Passwords that unibus does hash
 * at start (client users from files) are hashed off the event loop, so a
 * SIGTERM during that stage stops the node promptly, with no nats-server
 * left behind; `config check` names the cost.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RunningUnibus, freePort, nodeToml, pidsOf, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { monitorJson } from "./cluster-fixtures.ts";

const EDGES = 48;
const dir = tempDir("unibus-leaf-48-");
const names = Array.from({ length: EDGES }, (_, i) => `edge-${String(i + 1).padStart(2, "0")}`);
const secretOf = (name: string) => `${name}-secret-${process.pid}-a9f3`;
const running: RunningUnibus[] = [];

async function hubConfig(label: string, userEntry: (name: string) => string): Promise<{ file: string; client: number; monitor: number; leaf: number; data: string }> {
  const client = await freePort();
  const monitor = await freePort();
  const leaf = await freePort();
  const data = `${label}-data`;
  const users = names.map((n) => `[[leafnodes.users]]\nuser = "${n}"\n${userEntry(n)}\n`).join("");
  const text = nodeToml({ name: label, client, monitor, extra: `[leafnodes]\nlisten = "127.0.0.1:${leaf}"\n${users}` }).replace('data_dir = "data"', `data_dir = "${data}"`);
  return { file: writeConfig(dir.path, text, `${label}.toml`), client, monitor, leaf, data: join(dir.path, data) };
}

/** startTimed starts a node and returns the milliseconds until "unibus ready". */
async function startTimed(file: string): Promise<{ node: RunningUnibus; ms: number }> {
  const t0 = performance.now();
  const node = new RunningUnibus(["--config", file]);
  running.push(node);
  await node.ready(240_000);
  return { node, ms: performance.now() - t0 };
}

beforeAll(() => {
  for (const n of names) writeFileSync(join(dir.path, `${n}.pass`), `${secretOf(n)}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await Promise.all(running.map((n) => n.stop()));
  dir[Symbol.dispose]();
});

describe("a hub with 48 edge secrets in files", () => {
  let fileHub: Awaited<ReturnType<typeof hubConfig>>;
  let fileMs = 0;
  let hashMs = 0;

  test("is ready about as fast as with 48 password_hash entries", async () => {
    const hash = await Bun.password.hash("unused-edge-password", { algorithm: "bcrypt", cost: 10 });
    const hashHub = await hubConfig("hash-hub", () => `password_hash = "${hash}"`);
    fileHub = await hubConfig("file-hub", (n) => `password_file = "${n}.pass"`);
    // One after the other: the machine is shared, and the two must not slow each other down.
    const a = await startTimed(hashHub.file);
    hashMs = a.ms;
    await a.node.stop();
    const b = await startTimed(fileHub.file);
    fileMs = b.ms;
    console.log(`ready with 48 password_hash: ${Math.round(hashMs)} ms; with 48 password_file: ${Math.round(fileMs)} ms`);
    // Before: 48 hashes at about 2.8 s each (over two minutes). Now no hash at all; generous for a loaded machine.
    expect(fileMs).toBeLessThan(hashMs * 2 + 10_000);
    expect(b.node.log).not.toMatch(/level=warn[^\n]*Plaintext passwords/i);
  }, 600_000);

  test("the rendered config is 0600 and an edge signs in with its file secret", async () => {
    const rendered = join(fileHub.data, "nats-server.conf");
    expect(statSync(rendered).mode & 0o777).toBe(0o600);
    expect(readFileSync(rendered, "utf8")).not.toMatch(/"password": "\$2[aby]\$/);
    const edgeName = names[6]!;
    writeFileSync(join(dir.path, "edge.secret"), `${secretOf(edgeName)}\n`, { mode: 0o600 });
    const edgeFile = writeConfig(dir.path, nodeToml({
      name: edgeName, client: await freePort(), monitor: await freePort(),
      extra: `[leafnodes]\n[[leafnodes.remotes]]\nurl = "nats-leaf://127.0.0.1:${fileHub.leaf}"\nuser = "${edgeName}"\nsecret_file = "edge.secret"\n`,
    }).replace('data_dir = "data"', 'data_dir = "edge-data"'), "edge.toml");
    const edge = new RunningUnibus(["--config", edgeFile]);
    running.push(edge);
    await edge.ready(120_000);
    await waitFor(`${edgeName}'s leaf connection on the hub`, async () => {
      const leafz = await monitorJson<{ leafs: { name: string }[] | null }>(fileHub.monitor, "leafz");
      return (leafz?.leafs ?? []).some((l) => l.name === edgeName);
    }, 60_000, 250);
    await edge.stop();
  }, 240_000);
});

describe("a node hashing 48 client passwords at start", () => {
  test("config check names the cost, and SIGTERM during the start stops it promptly with no nats-server left", async () => {
    const client = await freePort();
    const users = names.map((n) => `[[client.users]]\nuser = "c-${n}"\npassword_file = "${n}.pass"\n`).join("");
    const file = writeConfig(dir.path, nodeToml({ name: "hashing", client, monitor: await freePort(), extra: users }).replace('data_dir = "data"', 'data_dir = "hashing-data"'), "hashing.toml");
    const check = await runUnibus(["config", "check", "--config", file]);
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(/48 passwords from password_file, password_env or password are bcrypt-hashed at every start[^\n]*password_hash/);

    const node = new RunningUnibus(["--config", file]);
    running.push(node);
    await node.waitForLog(/starting unibus/, 120_000);
    const t0 = performance.now();
    node.proc.kill("SIGTERM");
    const code = await node.stop("SIGTERM", 60_000);
    const ms = performance.now() - t0;
    console.log(`stopped ${Math.round(ms)} ms after SIGTERM during start (48 hashes take about 3.4 s here)`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(3_000);
    expect(pidsOf(join(dir.path, "hashing-data"))).toEqual([]);
  }, 240_000);
});
