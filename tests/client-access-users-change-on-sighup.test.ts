/**
 * Users change without a restart: after SIGHUP a newly added user signs in,
 * a removed user is refused (and its open connection is closed by
 * nats-server), and the users who stayed keep their connections.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { RunningUnibus, freePort, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-users-reload-");
afterAll(() => dir[Symbol.dispose]());

function usersToml(port: number, monitor: number, users: [string, string][]): string {
  const entries = users.map(([user, pw]) => `[[client.users]]\nuser = "${user}"\npassword = "${pw}"\n`).join("");
  return `[node]\nname = "users-reload"\ndata_dir = "data"\n[client]\nlisten = "127.0.0.1:${port}"\n${entries}[monitor]\nlisten = "127.0.0.1:${monitor}"\n[admin]\nenabled = false\n`;
}

describe("client users reload on SIGHUP", () => {
  test("an added user signs in, a removed one is refused and disconnected, the others stay connected", async () => {
    const port = await freePort();
    const monitor = await freePort();
    const servers = `127.0.0.1:${port}`;
    const config = writeConfig(dir.path, usersToml(port, monitor, [["alice", "alice-password-1"], ["bob", "bob-password-22"]]));
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    const login = (user: string, pass: string): Promise<NatsConnection> => connect({ servers, user, pass, timeout: 5_000, reconnect: false });

    const alice = await login("alice", "alice-password-1");
    const bob = await login("bob", "bob-password-22");
    await expect(login("carol", "carol-password-333")).rejects.toThrow(/Authorization Violation|Authentication Failure/i);

    // carol joins, bob leaves.
    writeFileSync(config, usersToml(port, monitor, [["alice", "alice-password-1"], ["carol", "carol-password-333"]]));
    const mark = node.log.length;
    node.proc.kill("SIGHUP");
    await node.waitForLog(/configuration reloaded/, 15_000, mark);

    const carol = await login("carol", "carol-password-333");
    await expect(login("bob", "bob-password-22")).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
    const bobClosed = await Promise.race([bob.closed().then(() => true), Bun.sleep(10_000).then(() => false)]);
    expect(bobClosed).toBe(true);

    // alice's connection from before the reload still delivers to carol.
    const sub = carol.subscribe("team.news", { max: 1 });
    await carol.flush();
    alice.publish("team.news", "still here");
    for await (const m of sub) expect(m.string()).toBe("still here");
    expect(alice.isClosed()).toBe(false);
    expect(node.log).not.toContain("carol-password-333");
    await Promise.all([alice.close(), carol.close()]);
  }, 60_000); // a start on a loaded machine alone can take bun test's default 5 s
});
