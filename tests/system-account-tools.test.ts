/**
 * The system account works for operators' tools: [[system_account.users]]
 * and [[system_account.nkeys]] and the node's own credential answer
 * `$SYS.REQ.SERVER.PING`, `.VARZ`, `.JSZ` and `$JS.API.SERVER.REMOVE`, from
 * nats.js (lib/natsd/system-client.ts) and from the official Go client built
 * from Debian's packages, with the context `unibus context` prints. Adding
 * the system account leaves a default node open to anonymous loopback
 * clients, and keeps $SYS closed to them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { createUser } from "@nats-io/nkeys";
import { nkeyAuthenticator } from "@nats-io/nats-core";
import { loadConfig } from "../lib/config/load.ts";
import { SystemClient } from "../lib/natsd/system-client.ts";
import { certFingerprint, parseCertificates } from "../lib/pki/trust.ts";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { makeLoopbackCluster, metaGroupOf, monitorJson, startNode, type LoopbackCluster } from "./cluster-fixtures.ts";
import { buildNatsProbe, goClientAvailable, runNatsProbe } from "./go-natsprobe.ts";

const OPS_PW = "ops-file-secret-8842";
const hasGo = goClientAvailable();
const probe = hasGo ? buildNatsProbe() : "";

describe("single node: operator users, the node's own key, anonymous clients unchanged", () => {
  const dir = tempDir("unibus-sys-");
  let node: RunningUnibus;
  let configFile = "";
  let url = "";
  const opsKey = createUser();

  beforeAll(async () => {
    writeFileSync(join(dir.path, "ops.pass"), `${OPS_PW}\n`, { mode: 0o600 });
    const client = await freePort();
    url = `nats://127.0.0.1:${client}`;
    configFile = writeConfig(dir.path, nodeToml({
      name: "sys1", client, monitor: await freePort(),
      extra: `[[system_account.users]]\nuser = "ops"\npassword_file = "ops.pass"\n[[system_account.nkeys]]\npublic_key = "${opsKey.getPublicKey()}"\n`,
    }));
    node = new RunningUnibus(["--config", configFile]);
    await node.ready();
  }, 90_000);
  afterAll(async () => {
    await node?.stop();
    dir[Symbol.dispose]();
  });

  test("the node's credential is a 0600 nkey seed in the data dir that never reaches the log or the rendered config", () => {
    const file = join(dir.path, "data", "system-account.nk");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const seed = readFileSync(file, "utf8").trim();
    expect(seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(node.log).not.toContain(seed);
    expect(node.log).not.toContain(OPS_PW);
    const rendered = readFileSync(join(dir.path, "data", "nats-server.conf"), "utf8");
    expect(rendered).not.toContain(seed);
    expect(rendered).not.toContain(OPS_PW);
    expect(rendered).toContain('"system_account": "$SYS"');
  });

  test("anonymous loopback clients still publish and subscribe, and cannot reach $SYS", async () => {
    const nc = await connect({ servers: url, timeout: 5_000, reconnect: false });
    try {
      const sub = nc.subscribe("anon.check", { max: 1 });
      nc.publish("anon.check", "hello");
      for await (const m of sub) expect(m.string()).toBe("hello");
      await expect(nc.request("$SYS.REQ.SERVER.PING", "", { timeout: 1_000 })).rejects.toThrow(/no responders|timeout/i);
    } finally {
      await nc.close();
    }
  });

  test("SystemClient (node's key) gets PING, VARZ and JSZ", async () => {
    await using sys = await SystemClient.connect(loadConfig(configFile));
    const pings = await sys.requestAll<{ server: { name: string } }>("$SYS.REQ.SERVER.PING", "", { expected: 1 });
    expect(pings.map((p) => p.server.name)).toEqual(["sys1"]);
    const varz = await sys.request<{ data: { server_name: string; jetstream: unknown } }>("$SYS.REQ.SERVER.PING.VARZ");
    expect(varz.data.server_name).toBe("sys1");
    const jsz = await sys.request<{ data: { config: { max_memory: number } } }>("$SYS.REQ.SERVER.PING.JSZ");
    expect(jsz.data.config.max_memory).toBeGreaterThan(0);
  });

  test("an operator user (password_file) and an operator nkey reach the system account from nats.js", async () => {
    const byPass = await connect({ servers: url, user: "ops", pass: OPS_PW, timeout: 5_000, reconnect: false });
    const byKey = await connect({ servers: url, authenticator: nkeyAuthenticator(opsKey.getSeed()), timeout: 5_000, reconnect: false });
    try {
      for (const nc of [byPass, byKey]) {
        const varz = (await nc.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 5_000 })).json<{ data: { server_name: string } }>();
        expect(varz.data.server_name).toBe("sys1");
      }
    } finally {
      await byPass.close();
      await byKey.close();
    }
    await expect(connect({ servers: url, user: "ops", pass: "wrong-password-1", timeout: 5_000, reconnect: false })).rejects.toThrow(/auth/i);
  });

  test("`unibus context` prints a nats context the Go client uses for PING, VARZ and JSZ", async () => {
    const r = await runUnibus(["context", "--config", configFile]);
    expect(r.code).toBe(0);
    const ctx = JSON.parse(r.stdout) as { url: string; nkey: string; ca?: string };
    expect(ctx.url).toBe(url);
    expect(ctx.nkey).toBe(join(dir.path, "data", "system-account.nk"));
    if (!hasGo) return;
    for (const subject of ["$SYS.REQ.SERVER.PING", "$SYS.REQ.SERVER.PING.VARZ", "$SYS.REQ.SERVER.PING.JSZ"]) {
      const g = await runNatsProbe(probe, ["-url", ctx.url, "-nkey", ctx.nkey, "request", subject]);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      expect(JSON.parse(g.stdout).server.name).toBe("sys1");
    }
  });

  test("`unibus context --user ops --out FILE` writes a 0600 context with the operator's password, which the Go client uses", async () => {
    const out = join(dir.path, "ops-context.json");
    const r = await runUnibus(["context", "--config", configFile, "--user", "ops", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(OPS_PW);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const ctx = JSON.parse(readFileSync(out, "utf8")) as { url: string; user: string; password: string };
    expect(ctx).toMatchObject({ url, user: "ops", password: OPS_PW });
    const bad = await runUnibus(["context", "--config", configFile, "--user", "nobody"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no such user in [[system_account.users]]');
    if (!hasGo) return;
    const g = await runNatsProbe(probe, ["-url", ctx.url, "-user", ctx.user, "-pass", ctx.password, "request", "$SYS.REQ.SERVER.PING.VARZ"]);
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout).data.server_name).toBe("sys1");
  });

  test("`config check` shows the system account with the password's source, not the password", async () => {
    const r = await runUnibus(["config", "check", "--config", configFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[[system_account.users]]");
    expect(r.stdout).toContain(join(dir.path, "ops.pass"));
    expect(r.stdout).not.toContain(OPS_PW);
  });
});

describe("cluster: every node answers PING; $JS.API.SERVER.REMOVE removes a dead peer", () => {
  const dir = tempDir("unibus-sys-cluster-");
  let cluster: LoopbackCluster;

  beforeAll(async () => {
    cluster = await makeLoopbackCluster(dir.path, ["sa", "sb", "sc"], { clusterName: "systest" });
    for (const n of cluster.nodes) startNode(n);
    await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
    await waitFor("a JetStream meta group of all three, seen from each", async () => (await Promise.all(cluster.nodes.map((n) => metaGroupOf(n.monitor, 3)))).every(Boolean), 90_000, 250);
  }, 240_000);
  afterAll(async () => {
    await Promise.all(cluster.nodes.map((n) => n.proc?.stop()));
    dir[Symbol.dispose]();
  });

  test("PING from one node's system account reaches all three, over TLS, from nats.js and Go", async () => {
    const first = cluster.nodes[0]!;
    await using sys = await SystemClient.connect(loadConfig(first.config));
    let names: string[] = [];
    await waitFor("three PING answers", async () => {
      names = (await sys.requestAll<{ server: { name: string } }>("$SYS.REQ.SERVER.PING", "", { expected: 3 })).map((p) => p.server.name).sort();
      return names.length === 3;
    }, 30_000, 500);
    expect(names).toEqual(["sa", "sb", "sc"]);
    if (!hasGo) return;
    const ctx = JSON.parse((await runUnibus(["context", "--config", first.config])).stdout) as { url: string; nkey: string; ca: string };
    expect(ctx.url).toBe(`tls://127.0.0.1:${first.client}`);
    // The CA file the node verifies with now (it follows CA rotations), holding the cluster's CA.
    expect(ctx.ca).toBe(join(first.dataDir, "tls", "ca-bundle.pem"));
    expect(parseCertificates(readFileSync(ctx.ca, "utf8")).map(certFingerprint)).toEqual(parseCertificates(readFileSync(cluster.ca.cert, "utf8")).map(certFingerprint));
    const g = await runNatsProbe(probe, ["-url", ctx.url, "-nkey", ctx.nkey, "-ca", ctx.ca, "many", "$SYS.REQ.SERVER.PING.JSZ", "3"]);
    expect(g.code).toBe(0);
    const goNames = g.stdout.trim().split("\n").map((l) => JSON.parse(l).server.name).sort();
    expect(goNames).toEqual(["sa", "sb", "sc"]);
    // A peer that is not a member: the meta leader answers with the JetStream error, proving the call is allowed.
    const unknown = await runNatsProbe(probe, ["-url", ctx.url, "-nkey", ctx.nkey, "-ca", ctx.ca, "request", "$JS.API.SERVER.REMOVE", JSON.stringify({ peer: "no-such-node" })]);
    expect(unknown.code).toBe(0);
    expect(JSON.parse(unknown.stdout).error.description).toMatch(/not a member/i);
  });

  test("$JS.API.SERVER.REMOVE from SystemClient removes a stopped node from the meta group", async () => {
    const [first, , gone] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    await gone.proc!.stop();
    await using sys = await SystemClient.connect(loadConfig(first.config));
    let answer: { success?: boolean; error?: { description: string } } = {};
    let last = "";
    try {
      await waitFor("the meta leader to accept the removal", async () => {
        try {
          answer = await sys.request("$JS.API.SERVER.REMOVE", { peer: "sc" }, { timeoutMs: 10_000 });
          last = JSON.stringify(answer);
        } catch (err) {
          last = (err as Error).message;
          return false; // no leader for a moment after the stop
        }
        return answer.success === true;
      }, 90_000, 1_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the last answer: ${last}; sa's meta group: ${JSON.stringify((await monitorJson(first.monitor, "jsz"))?.meta_cluster)}`);
    }
    expect(answer.success).toBe(true);
    await waitFor("sc to leave the meta group", async () => {
      const jsz = await sys.request<{ data: { meta_cluster: { replicas?: { name: string }[]; cluster_size: number } } }>("$SYS.REQ.SERVER.PING.JSZ");
      return !(jsz.data.meta_cluster.replicas ?? []).some((r) => r.name === "sc");
    }, 30_000, 500);
  }, 180_000);
});
