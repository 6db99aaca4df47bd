/**
 * Client access defined once for the cluster, on a LAN of network
 * namespaces: `init cluster --client-listen 0.0.0.0:4222` makes a, b and c
 * join with the printed line, and nothing is edited on any box. A user added
 * once (on b) signs in on every member (the time until all three admit it
 * is printed); a member cut off from the others (a and b stopped) still
 * admits the users it knew, also after its own restart while alone, and
 * refuses a change it cannot get a majority for; removing a user closes its
 * connections and keeps the others'; passwd changes the password
 * everywhere; nkey users work; no password or hash reaches a log, and the
 * local copies are 0600.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { createUser } from "@nats-io/nkeys";
import { BIN_X64, tempDir, waitFor } from "./_helpers.ts";
import { growCluster, Lab, sh, type Box } from "./membership-fixtures.ts";

const ready = Lab.available("the cluster users test");
const dir = tempDir("unibus-users-");
const lab = new Lab(dir.path, ["a", "b", "c"]);
const timings: Record<string, number> = {};
let caFile = "";
const PW_APP = "app-password-1f9c2e";
const PW_APP2 = "app-password-new-77d1a0";
const PW_OTHER = "other-password-3b5e8d";

/** cli runs a unibus command inside a box's namespace with stdin. */
async function cli(b: Box, args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(["ip", "netns", "exec", b.ns, BIN_X64, ...args, "--config", b.config], { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** signIn connects from the host (on the bridge) to a box's client port as a LAN client does. */
async function signIn(b: Box, auth: { user: string; pass: string } | { seed: Uint8Array } | undefined): Promise<NatsConnection> {
  return connect({
    servers: `tls://${b.ip}:4222`,
    tls: { caFile },
    timeout: 3_000,
    reconnect: false,
    ...(auth && "user" in auth ? { user: auth.user, pass: auth.pass } : {}),
    ...(auth && "seed" in auth ? { authenticator: nkeyAuthenticator(auth.seed) } : {}),
  });
}

/** admits tells whether a box lets this sign-in in (and the connection can round-trip). */
async function admits(b: Box, auth: Parameters<typeof signIn>[1]): Promise<boolean> {
  try {
    const nc = await signIn(b, auth);
    await nc.flush();
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  if (!ready) return;
  lab.create();
  // The host joins the LAN as the clients' machine.
  sh(["ip", "addr", "add", `${lab.subnet}.200/24`, "dev", lab.bridge]);
  const t0 = Date.now();
  ({ caFile } = await growCluster(lab, dir.path, "userlab", ["--client-listen", "0.0.0.0:4222"]));
  timings.formed_ms = Date.now() - t0;
}, 240_000);

afterAll(async () => {
  await lab.destroy();
  console.log(`cluster users timings (netns, 3 nodes): ${JSON.stringify(timings)}`);
  dir[Symbol.dispose]();
}, 60_000); // stopping three nodes can outlast bun's 5 s hook default on a loaded machine, which would leave the namespaces behind

describe.if(ready)("users defined once for the cluster", () => {
  test("joined boxes take the cluster's client port over and admit nobody before the first user", async () => {
    for (const b of lab.boxes) expect(readFileSync(b.config, "utf8")).toContain('listen = "0.0.0.0:4222"');
    for (const b of lab.boxes) expect(await admits(b, undefined)).toBe(false);
    for (const b of lab.boxes) expect(await admits(b, { user: "app", pass: PW_APP })).toBe(false);
  }, 60_000);

  test("a user added once on one member signs in on every member within seconds, no restart", async () => {
    const [a, b, c] = lab.boxes as [Box, Box, Box];
    const pids = lab.boxes.map((x) => x.proc!.pid);
    const t0 = Date.now();
    const r = await cli(b, ["user", "add", "app"], PW_APP);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("applied on 3 of 3 members");
    timings.user_add_command_ms = Date.now() - t0;
    const pending = new Set([a, b, c]);
    await waitFor("every member to admit app", async () => {
      for (const x of [...pending]) if (await admits(x, { user: "app", pass: PW_APP })) pending.delete(x);
      return pending.size === 0;
    }, 30_000, 50);
    timings.user_add_to_every_member_ms = Date.now() - t0;
    // How long nats-server's own reload took on each member (the part a bare nats-server pays as well).
    const reloads = lab.boxes.map((x) => Number(/applied a change to the cluster's users.*?reload_ms["=:]+(\d+)/.exec(x.log)?.[1] ?? NaN));
    timings.nats_reload_ms_max = Math.max(...reloads);
    expect(lab.boxes.map((x) => x.proc!.pid)).toEqual(pids);
    for (const x of lab.boxes) expect(await admits(x, { user: "app", pass: "wrong-password-123" })).toBe(false);
    const list = await cli(c, ["user", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("app");
    expect(list.stdout).toContain("members in step with this copy: 3 of 3");
    const status = await lab.status(c);
    expect(status.status?.problems ?? []).not.toContainEqual(expect.objectContaining({ kind: "cluster_users_stale" }));
    const check = await cli(c, ["config", "check"]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("users(1) (1 from the cluster)");
    expect(check.stdout).toMatch(/cluster users \(this member's copy, .*cluster-access\.json\): app/);
  }, 90_000);

  test("an nkey user with an allow-list signs in on every member and is held to its subjects", async () => {
    const [a, , c] = lab.boxes as [Box, Box, Box];
    const pair = createUser();
    const r = await cli(a, ["user", "add", "sensor", "--nkey", pair.getPublicKey(), "--publish", "sensors.>", "--subscribe", "cmd.>"]);
    expect(r.code).toBe(0);
    // Refusals for the cluster's state exit 2 with the reason alone: the probe saw the whole usage block after "already exists".
    for (const args of [["user", "add", "sensor", "--nkey", pair.getPublicKey()], ["user", "remove", "nobody"]]) {
      const no = await cli(c, args);
      expect(no.code, args.join(" ")).toBe(2);
      expect(no.stderr, args.join(" ")).toMatch(args[1] === "add" ? /cluster user "sensor" already exists/ : /nobody/);
      expect(no.stderr, args.join(" ")).not.toMatch(/usage:/i);
    }
    await waitFor("c to admit the nkey user", () => admits(c, { seed: pair.getSeed() }), 30_000, 100);
    const nc = await signIn(c, { seed: pair.getSeed() });
    const denied = new Promise<string>((resolve) => {
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error" || (s as { type: string }).type === "permissionError") resolve(String((s as { error?: Error }).error ?? s.type));
      })();
    });
    nc.publish("sensors.t1", "21.5");
    nc.publish("secrets.x", "no");
    expect(await Promise.race([denied, new Promise<string>((r2) => setTimeout(() => r2("none"), 5_000))])).toMatch(/Permissions Violation|permission/i);
    await nc.close().catch(() => {});
  }, 60_000);

  test("a user limited to MQTT (--only mqtt) cannot sign in as a NATS client on any member", async () => {
    const [, b] = lab.boxes as [Box, Box, Box];
    const r = await cli(b, ["user", "add", "device", "--only", "mqtt"], "device-password-9a");
    expect(r.code).toBe(0);
    await waitFor("every member to know device", async () => (await Promise.all(lab.boxes.map((x) => cli(x, ["user", "list", "--json"])))).every((l) => l.stdout.includes('"device"')), 30_000, 200);
    await Bun.sleep(500);
    for (const x of lab.boxes) expect(await admits(x, { user: "device", pass: "device-password-9a" })).toBe(false);
    const list = await cli(b, ["user", "list"]);
    expect(list.stdout).toMatch(/device\s+password\s+all\s+all\s+mqtt/);
  }, 60_000);

  test("removing a user closes its connections on every member and keeps the others'", async () => {
    const [a, b, c] = lab.boxes as [Box, Box, Box];
    expect((await cli(a, ["user", "add", "other"], PW_OTHER)).code).toBe(0);
    await waitFor("every member to admit other", async () => (await Promise.all(lab.boxes.map((x) => admits(x, { user: "other", pass: PW_OTHER })))).every(Boolean), 30_000, 100);
    const victim = await signIn(a, { user: "other", pass: PW_OTHER });
    const keeper = await signIn(b, { user: "app", pass: PW_APP });
    let victimClosed = false;
    let keeperClosed = false;
    void victim.closed().then(() => { victimClosed = true; });
    void keeper.closed().then(() => { keeperClosed = true; });
    const t0 = Date.now();
    const r = await cli(c, ["user", "remove", "other"]);
    expect(r.code).toBe(0);
    await waitFor("the removed user's connection on a to close", () => victimClosed, 30_000, 50);
    timings.user_remove_closes_connection_ms = Date.now() - t0;
    for (const x of lab.boxes) expect(await admits(x, { user: "other", pass: PW_OTHER })).toBe(false);
    expect(keeperClosed).toBe(false);
    await keeper.flush();
    await keeper.close();
  }, 90_000);

  test("a member cut off from the others admits the users it knew, also after restarting alone, and refuses changes", async () => {
    const [a, b, c] = lab.boxes as [Box, Box, Box];
    await lab.stop(a);
    await lab.stop(b);
    expect(await admits(c, { user: "app", pass: PW_APP })).toBe(true);
    const refused = await cli(c, ["user", "add", "late"], "late-password-123");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("needs a majority (2). Nothing changed");
    await lab.stop(c);
    c.log = "";
    lab.start(c);
    await waitFor("c to start alone", () => c.log.includes("nats-server ready") || c.log.includes("ready"), 60_000, 200);
    await waitFor("c alone to admit app", () => admits(c, { user: "app", pass: PW_APP }), 30_000, 200);
    expect(await admits(c, { user: "late", pass: "late-password-123" })).toBe(false);
    expect(await admits(c, { user: "other", pass: PW_OTHER })).toBe(false);
    lab.start(a);
    lab.start(b);
    await waitFor("the three to form again", () => lab.formed(), 120_000, 500);
  }, 240_000);

  test("a member that was down when a user was added admits it within seconds of coming back", async () => {
    const [a, , c] = lab.boxes as [Box, Box, Box];
    await lab.stop(c);
    const r = await cli(a, ["user", "add", "while-away"], "away-password-42");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("applied on 2 of 3 members");
    c.log = "";
    const t0 = Date.now();
    lab.start(c);
    await waitFor("c, back, to admit the user added while it was down", () => admits(c, { user: "while-away", pass: "away-password-42" }), 60_000, 100);
    timings.catch_up_after_start_ms = Date.now() - t0;
    await waitFor("the three to form again", () => lab.formed(), 120_000, 500);
  }, 180_000);

  test("passwd changes the password on every member", async () => {
    const [a] = lab.boxes as [Box, Box, Box];
    const t0 = Date.now();
    const r = await cli(a, ["user", "passwd", "app"], PW_APP2);
    expect(r.code).toBe(0);
    await waitFor("every member to take the new password", async () => (await Promise.all(lab.boxes.map((x) => admits(x, { user: "app", pass: PW_APP2 })))).every(Boolean), 30_000, 100);
    timings.passwd_to_every_member_ms = Date.now() - t0;
    for (const x of lab.boxes) expect(await admits(x, { user: "app", pass: PW_APP })).toBe(false);
  }, 90_000);

  test("no password or hash reaches a log, and every copy of the users is 0600", () => {
    const hashes = new Set<string>();
    for (const b of lab.boxes) {
      const file = join(b.dir, "data", "cluster-access.json");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      for (const e of JSON.parse(readFileSync(file, "utf8")).entries) if (e.passwordHash) hashes.add(e.passwordHash);
    }
    expect(hashes.size).toBeGreaterThan(0);
    for (const b of lab.boxes) {
      for (const secret of [PW_APP, PW_APP2, PW_OTHER, ...hashes]) expect(b.log.includes(secret)).toBe(false);
    }
    for (const file of filesUnder(dir.path)) {
      const text = readFileSync(file).toString("latin1");
      const mode = statSync(file).mode & 0o777;
      for (const secret of [PW_APP, PW_APP2, PW_OTHER]) if (text.includes(secret)) throw new Error(`${file} holds a password in clear`);
      if ([...hashes].some((h) => text.includes(h))) expect({ file, mode }).toEqual({ file, mode: 0o600 });
    }
  });
});
