/**
 * Who may connect: a node open to the network without credentials is refused
 * at start; with users and nkeys configured, nats-server (run by the
 * compiled unibus) refuses anonymous clients and wrong passwords and holds
 * every client to its subject permissions. Passwords never reach the log,
 * the rendered nats config or `config check`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { nkeyAuthenticator, PermissionViolationError } from "@nats-io/nats-core";
import { RunningUnibus, freePort, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const SENSOR_PW = "sensor-file-secret-4711";
const APP_PW = "app-env-secret-0815";
const ADMIN_PW = "admin-hash-secret-1234";

const dir = tempDir("unibus-access-");
let node: RunningUnibus;
let servers = "";
let nkeySeed = "";
let configFile = "";
const extra: NatsConnection[] = [];

async function client(opts: Record<string, unknown>): Promise<NatsConnection> {
  const nc = await connect({ servers, timeout: 5_000, reconnect: false, ...opts });
  extra.push(nc);
  return nc;
}

/** violations collects the permission errors nats-server reports to one connection. */
function violations(nc: NatsConnection): PermissionViolationError[] {
  const seen: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) seen.push(s.error);
    }
  })();
  return seen;
}

/** publishBoth publishes a subject the client may not and one it may, and waits until nats refused the first and delivered the second (got collects what arrived); it returns the refusals. */
async function publishBoth(nc: NatsConnection, denied: string, allowed: string, got: string[]): Promise<PermissionViolationError[]> {
  const seen = violations(nc);
  nc.publish(denied, "x");
  nc.publish(allowed, "y");
  await nc.flush();
  await waitUntil(() => got.includes(allowed) && seen.length > 0);
  return seen;
}

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

beforeAll(async () => {
  // The hash comes from the real `unibus passwd`, the nkey from `unibus nkey gen`.
  const hashed = Bun.spawnSync([join(import.meta.dir, "..", "dist", "unibus-linux-x64"), "passwd"], { stdin: new TextEncoder().encode(`${ADMIN_PW}\n`) });
  const hash = hashed.stdout.toString().trim();
  const gen = await runUnibus(["nkey", "gen"]);
  const lines = gen.stdout.split("\n").filter((l) => l && !l.startsWith("#"));
  nkeySeed = lines[0]!;
  const publicKey = lines[1]!;
  writeFileSync(join(dir.path, "sensor.pass"), `${SENSOR_PW}\n`, { mode: 0o600 });
  const port = await freePort();
  servers = `127.0.0.1:${port}`;
  configFile = writeConfig(dir.path, `
[node]
name = "access-1"
data_dir = "data"
[client]
listen = "${servers}"
[[client.users]]
user = "admin"
password_hash = "${hash}"
[[client.users]]
user = "sensor"
password_file = "sensor.pass"
publish = { allow = ["sensors.>"] }
subscribe = { allow = ["_INBOX.>"] }
[[client.users]]
user = "app"
password_env = "UNIBUS_TEST_APP_PW"
publish = { allow = [">"], deny = ["admin.>"] }
[[client.nkeys]]
public_key = "${publicKey}"
publish = ["telemetry.>"]
subscribe = ["telemetry.>"]
[monitor]
listen = "127.0.0.1:${await freePort()}"
[admin]
listen = "127.0.0.1:${await freePort()}"
`);
  node = new RunningUnibus(["--config", configFile], { UNIBUS_TEST_APP_PW: APP_PW });
  await node.ready();
});

afterAll(async () => {
  for (const nc of extra) await nc.close().catch(() => {});
  await node?.stop();
  dir[Symbol.dispose]();
});

describe("clients must sign in and stay within their permissions", () => {
  test("a network client.listen without users, nkeys or allow_anonymous is refused with exit 2 naming client.listen", async () => {
    using d = tempDir();
    const file = writeConfig(d.path, `[node]\ndata_dir = "data"\n[client]\nlisten = "0.0.0.0:${await freePort()}"\n`);
    for (const command of [["config", "check"], []]) {
      const { code, stderr } = await runUnibus([...command, "--config", file]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${file}:4:1: client.listen: expected a loopback address`);
      expect(stderr).toContain("allow_anonymous = true");
    }
    expect(readdirSync(d.path)).toEqual(["node.toml"]);
  });

  test("a password file others can read is refused with exit 2, and its content is not printed", async () => {
    using d = tempDir();
    writeFileSync(join(d.path, "app.pass"), "readable-by-all-secret\n", { mode: 0o644 });
    const file = writeConfig(d.path, `[node]\ndata_dir = "data"\n[[client.users]]\nuser = "app"\npassword_file = "app.pass"\n`);
    const { code, stderr } = await runUnibus(["--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:5:1: client.users.0.password_file: expected a file only its owner can read (chmod 600 ${join(d.path, "app.pass")}); it has mode 0644`);
    expect(stderr).not.toContain("readable-by-all-secret");
    expect(readdirSync(d.path).sort()).toEqual(["app.pass", "node.toml"]);
  });

  test("allow_anonymous = true opens a network listener and logs a warning at start", async () => {
    using d = tempDir();
    const port = await freePort("0.0.0.0");
    const file = writeConfig(d.path, `[node]\ndata_dir = "data"\n[client]\nlisten = "0.0.0.0:${port}"\nallow_anonymous = true\n[monitor]\nlisten = "127.0.0.1:${await freePort()}"\n[admin]\nlisten = "127.0.0.1:${await freePort()}"\n`);
    await using open = new RunningUnibus(["--config", file]);
    await open.ready();
    expect(open.log).toMatch(/level=warn msg="allow_anonymous = true: anyone who can reach client listener 0\.0\.0\.0:\d+ may connect without credentials"/);
    const nc = await connect({ servers: `127.0.0.1:${port}`, timeout: 5_000, reconnect: false });
    await nc.flush();
    await nc.close();
  });

  test("an anonymous client is refused once users are configured", async () => {
    await expect(connect({ servers, timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
  });

  test("a wrong password is refused; the right ones (hash, file, env) sign in", async () => {
    await expect(connect({ servers, user: "sensor", pass: "not-the-password", timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
    await expect(connect({ servers, user: "nobody", pass: SENSOR_PW, timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
    for (const [user, pass] of [["admin", ADMIN_PW], ["sensor", SENSOR_PW], ["app", APP_PW]] as const) {
      const nc = await client({ user, pass });
      await nc.flush();
    }
  });

  test("a user publishing outside its permissions gets a permissions violation and the message is not delivered", async () => {
    const admin = await client({ user: "admin", pass: ADMIN_PW });
    const got: string[] = [];
    admin.subscribe(">", { callback: (_e, m) => { if (!m.subject.startsWith("_INBOX") && !m.subject.startsWith("$")) got.push(m.subject); } });
    await admin.flush();
    const seen = await publishBoth(await client({ user: "sensor", pass: SENSOR_PW }), "admin.reset", "sensors.kitchen.temp", got);
    expect(seen[0]!.operation).toBe("publish");
    expect(seen[0]!.subject).toBe("admin.reset");
    // the deny list of "app" holds too
    await publishBoth(await client({ user: "app", pass: APP_PW }), "admin.shutdown", "app.ok", got);
    await admin.flush();
    expect(got).not.toContain("admin.reset");
    expect(got).not.toContain("admin.shutdown");
  });

  test("no client, not even one with every permission, may publish an edge's verdict report (_UNIBUS.>): a device cannot speak for an edge", async () => {
    const admin = await client({ user: "admin", pass: ADMIN_PW });
    const got: string[] = [];
    admin.subscribe("_UNIBUS.>", { callback: (_e, m) => { got.push(m.subject); } });
    admin.subscribe("still.>", { callback: (_e, m) => { got.push(m.subject); } });
    await admin.flush();
    const seen = await publishBoth(admin, "_UNIBUS.EDGE.VERDICT.edge-7", "still.allowed", got);
    expect(seen[0]!.operation).toBe("publish");
    expect(seen[0]!.subject).toBe("_UNIBUS.EDGE.VERDICT.edge-7");
    // "app" may publish ">" but for its deny list, and the reserved subjects join that list.
    const appSeen = await publishBoth(await client({ user: "app", pass: APP_PW }), "_UNIBUS.EDGE.VERDICT.edge-8", "still.app", got);
    expect(appSeen[0]!.subject).toBe("_UNIBUS.EDGE.VERDICT.edge-8");
    await admin.flush();
    expect(got.filter((s) => s.startsWith("_UNIBUS"))).toEqual([]);
  });

  test("a user cannot subscribe outside its permissions", async () => {
    const sensor = await client({ user: "sensor", pass: SENSOR_PW });
    const seen = violations(sensor);
    sensor.subscribe("sensors.>");
    await sensor.flush();
    await waitUntil(() => seen.length > 0);
    expect(seen[0]!.operation).toBe("subscription");
  });

  test("an nkey client signs in with its seed and is held to its allow-list", async () => {
    const nk = await client({ authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeySeed)) });
    const seen = violations(nk);
    const mine: string[] = [];
    nk.subscribe("telemetry.>", { callback: (_e, m) => void mine.push(m.subject) });
    const admin = await client({ user: "admin", pass: ADMIN_PW });
    const got: string[] = [];
    admin.subscribe("sensors.>", { callback: (_e, m) => void got.push(m.subject) });
    await admin.flush();
    nk.publish("telemetry.pump", "1");
    nk.publish("sensors.fake", "2");
    await nk.flush();
    await waitUntil(() => mine.includes("telemetry.pump") && seen.length > 0);
    await admin.flush();
    expect(seen[0]!.subject).toBe("sensors.fake");
    expect(got).toEqual([]);
    // a seed that is not listed is refused
    const { createUser } = await import("@nats-io/nkeys");
    await expect(connect({ servers, authenticator: nkeyAuthenticator(createUser().getSeed()), timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
  });

  test("passwords appear nowhere: not in the log, not in the rendered nats config, not in config check", async () => {
    const rendered = readFileSync(join(dir.path, "data", "nats-server.conf"), "utf8");
    const check = await runUnibus(["config", "check", "--config", configFile], { env: { UNIBUS_TEST_APP_PW: APP_PW } });
    expect(check.code).toBe(0);
    for (const pw of [SENSOR_PW, APP_PW, ADMIN_PW]) {
      expect(node.log).not.toContain(pw);
      expect(rendered).not.toContain(pw);
      expect(check.stdout).not.toContain(pw);
    }
    expect(rendered).toMatch(/"password": "\$2[ab]\$10\$/);
    expect(node.log).not.toContain("Plaintext passwords detected");
    // the table says who can connect from where
    expect(check.stdout).toMatch(/#\s+client\s+127\.0\.0\.1:\d+\s+this host only\s+no\s+users\(3\), nkeys\(1\)/);
    expect(check.stdout).toContain('password_hash = "<redacted: inline bcrypt hash>"');
    expect(check.stdout).toContain('password_env = "UNIBUS_TEST_APP_PW"');
  });
});
